package dev.loupe.jobs.enrich;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Tiny test images: distinct solid-colour PNGs and a file that only pretends to be one. */
public final class TestImages {

    private TestImages() {}

    /** Writes a 16×16 PNG of a colour picked by {@code seed} to {@code file} and returns it. */
    public static Path png(Path file, int seed) throws IOException {
        BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        int rgb = new Color((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256).getRGB();
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                image.setRGB(x, y, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    /** A file named like a PNG holding a truncated PNG header. */
    public static Path corrupt(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H'});
        return file;
    }
}
