package dev.loupe.model.tools;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Seeded random PNG and JPEG images (smooth colour gradients plus noise) as benchmark input, generated in memory. */
public final class RandomImages {
    private RandomImages() {}

    public static byte[] png(long seed, int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image(seed, width, height), "png", out)) {
            throw new IOException("no PNG writer in this JVM");
        }
        return out.toByteArray();
    }

    /** The same content as {@link #png}, as a baseline JPEG (4:2:0) of the given quality (0..1, as ImageIO takes it). */
    public static byte[] jpeg(long seed, int width, int height, float quality) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
                writer.setOutput(stream);
                writer.write(null, new IIOImage(image(seed, width, height), null, null), param);
            }
            return out.toByteArray();
        } finally {
            writer.dispose();
        }
    }

    /** Photo-like content: a smooth gradient per channel plus uniform noise of +-24. */
    public static BufferedImage image(long seed, int width, int height) {
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
        return img;
    }
}
