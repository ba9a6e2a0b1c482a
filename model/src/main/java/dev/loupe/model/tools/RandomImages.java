package dev.loupe.model.tools;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/** Seeded random PNG images (smooth colour gradients plus noise) as benchmark input, generated in memory. */
public final class RandomImages {
    private RandomImages() {}

    public static byte[] png(long seed, int width, int height) throws IOException {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
        }
        SplittableRandom r = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] base = {r.nextInt(256), r.nextInt(256), r.nextInt(256)};
        double[] gx = {r.nextDouble(-1, 1), r.nextDouble(-1, 1), r.nextDouble(-1, 1)};
        double[] gy = {r.nextDouble(-1, 1), r.nextDouble(-1, 1), r.nextDouble(-1, 1)};
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    double v = base[c] + 128 * (gx[c] * x / width + gy[c] * y / height) + r.nextInt(-24, 25);
                    rgb = (rgb << 8) | (int) Math.max(0, Math.min(255, Math.round(v)));
                }
                img.setRGB(x, y, rgb);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", out)) {
            throw new IOException("no PNG writer in this JVM");
        }
        return out.toByteArray();
    }
}
