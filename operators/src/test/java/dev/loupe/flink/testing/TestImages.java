package dev.loupe.flink.testing;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Tiny encoded test images made with the JDK's ImageIO. */
public final class TestImages {
    private TestImages() {}

    /** A width x height PNG filled with one colour. */
    public static byte[] png(int width, int height, Color color) {
        return encode(width, height, color, "png");
    }

    public static byte[] jpeg(int width, int height, Color color) {
        return encode(width, height, color, "jpg");
    }

    private static byte[] encode(int width, int height, Color color, String format) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, color.getRGB());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
