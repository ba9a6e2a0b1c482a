package dev.loupe.jobs.caption;

import dev.loupe.model.api.Thumbnail;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * The contact sheet's JPEG thumbnails, written atomically (a temporary file moved into place, so a replay after a
 * restart rewrites the same file and a crash leaves no half-written one). The pixels come from the pipeline: the
 * preprocessing makes each thumbnail from the decode that fed the model, so no input is read or decoded twice.
 */
final class Thumbnails {
    private Thumbnails() {}

    /** Writes {@code thumbnail} as a JPEG (quality 0.8) to {@code target}. */
    static void write(Thumbnail thumbnail, Path target) throws IOException {
        BufferedImage image = new BufferedImage(thumbnail.width(), thumbnail.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = thumbnail.rgb();
        int[] pixels = new int[thumbnail.width() * thumbnail.height()];
        for (int p = 0, i = 0; p < pixels.length; p++, i += 3) {
            pixels[p] = (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF);
        }
        image.setRGB(0, 0, thumbnail.width(), thumbnail.height(), pixels, 0, thumbnail.width());
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        // buffered in memory: ImageIO.createImageOutputStream would cache each thumbnail in a temporary file first
        try (OutputStream out = Files.newOutputStream(tmp);
                ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
            try {
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(0.8f);
                writer.setOutput(ios);
                writer.write(null, new IIOImage(image, null, null), param);
            } finally {
                writer.dispose();
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
