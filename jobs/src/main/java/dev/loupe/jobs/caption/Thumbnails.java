package dev.loupe.jobs.caption;

import dev.loupe.model.api.Thumbnail;
import dev.loupe.model.image.TurboJpegCompressor;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
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
 * The contact sheet's JPEG thumbnails (quality 80), written atomically (a temporary file moved into place, so a replay
 * after a restart rewrites the same file and a crash leaves no half-written one). The pixels come from the pipeline:
 * the preprocessing makes each thumbnail from the decode that fed the model, so no input is read or decoded twice.
 * An instance writes with libjpeg-turbo's compressor ({@link TurboJpegCompressor}) where it is installed, else with
 * ImageIO ({@link #writeWithImageIO}); the two give the same JPEG data at the same settings. One instance per thread.
 */
final class Thumbnails implements AutoCloseable {
    /** JPEG quality of the thumbnails, IJG scale (ImageIO's 0.8). */
    static final int QUALITY = 80;

    /** Null where TurboJPEG is not usable. */
    private final TurboJpegCompressor compressor;

    private Thumbnails(TurboJpegCompressor compressor) {
        this.compressor = compressor;
    }

    /** A writer for the calling thread: TurboJPEG's compressor where it is usable, else ImageIO's. */
    static Thumbnails open() {
        return new Thumbnails(TurboJpegCompressor.open());
    }

    /** A writer that always uses ImageIO (to compare the two). */
    static Thumbnails imageIO() {
        return new Thumbnails(null);
    }

    /** Whether this writer uses TurboJPEG. */
    boolean turboJpeg() {
        return compressor != null;
    }

    /** Writes {@code thumbnail} as a JPEG to {@code target}. */
    void write(Thumbnail thumbnail, Path target) throws IOException {
        if (compressor == null) {
            writeWithImageIO(thumbnail, target);
            return;
        }
        Path tmp = temporary(target);
        compressor.write(thumbnail, QUALITY, tmp);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void close() {
        if (compressor != null) {
            compressor.close();
        }
    }

    private static Path temporary(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".tmp");
    }

    /** Writes {@code thumbnail} as a JPEG to {@code target} with ImageIO's JPEG writer. */
    static void writeWithImageIO(Thumbnail thumbnail, Path target) throws IOException {
        // the samples go straight into the raster the JPEG writer reads (setRGB on an int image went through the
        // colour model pixel by pixel, and the writer then unpacked the ints again)
        BufferedImage image = new BufferedImage(thumbnail.width(), thumbnail.height(), BufferedImage.TYPE_3BYTE_BGR);
        byte[] rgb = thumbnail.rgb();
        byte[] bgr = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < bgr.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        Path tmp = temporary(target);
        // buffered in memory: ImageIO.createImageOutputStream would cache each thumbnail in a temporary file first
        try (OutputStream out = Files.newOutputStream(tmp);
                ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
            try {
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(QUALITY / 100f);
                writer.setOutput(ios);
                writer.write(null, new IIOImage(image, null, null), param);
            } finally {
                writer.dispose();
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
