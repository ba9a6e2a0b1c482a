package dev.loupe.model.image;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Decodes encoded image bytes (JPEG incl. CMYK/YCCK, PNG, WebP, BMP, GIF: whatever ImageIO and the
 * TwelveMonkeys plugins read) into 8-bit RGB with the sample values Pillow's {@code Image.convert("RGB")}
 * gives, because the model's preprocessing reference is Pillow.
 *
 * <p>It reads the raw raster, never colour-managed {@code getRGB}: alpha is dropped (not composited),
 * grey is replicated, palettes are looked up, 16-bit colour keeps the high byte, 16-bit grey is clipped to
 * 255 (Pillow's {@code I;16 -> RGB}), CMYK uses Pillow's naive {@code cmyk2rgb}. Embedded ICC profiles and
 * gamma are ignored, as Pillow does. The image's size is read from the header and checked against the
 * pixel limit before any pixel is decoded (decompression bombs); truncated files are rejected rather than
 * returned half grey. Thread-safe: each call uses its own reader.
 *
 * <p><b>Reduced-scale JPEG decoding</b> ({@link #withFastJpegDownscale}, off by default): when the caller says
 * how large the image must stay ({@link #decodeRows(byte[], int, int)}, as the processors do), a JPEG is read
 * with ImageIO's source subsampling by 2, 4 or 8 (the largest that keeps both sides at least that large), a
 * cheaper stand-in for Pillow's {@code Image.draft} DCT scaling. It keeps every s-th pixel rather than averaging
 * blocks, so the tensor differs from Pillow's: never use it where parity is promised (see
 * docs/benchmarks.md for the measured difference).
 */
public final class ImageDecoder {
    public static final long DEFAULT_MAX_ENCODED_BYTES = 50L * 1024 * 1024; // = ImageLimits.DEFAULT
    public static final long DEFAULT_MAX_PIXELS = 40_000_000L;

    private final long maxEncodedBytes;
    private final long maxPixels;
    private final boolean fastJpegDownscale;

    /** Limits of {@value #DEFAULT_MAX_ENCODED_BYTES} encoded bytes and {@value #DEFAULT_MAX_PIXELS} pixels. */
    public ImageDecoder() {
        this(DEFAULT_MAX_ENCODED_BYTES, DEFAULT_MAX_PIXELS);
    }

    public ImageDecoder(long maxEncodedBytes, long maxPixels) {
        this(maxEncodedBytes, maxPixels, false);
    }

    private ImageDecoder(long maxEncodedBytes, long maxPixels, boolean fastJpegDownscale) {
        if (maxEncodedBytes <= 0 || maxPixels <= 0) {
            throw new IllegalArgumentException("limits must be positive: " + maxEncodedBytes + " bytes, " + maxPixels + " pixels");
        }
        this.maxEncodedBytes = maxEncodedBytes;
        this.maxPixels = maxPixels;
        this.fastJpegDownscale = fastJpegDownscale;
        ensurePluginsRegistered();
    }

    /**
     * This decoder's limits with reduced-scale JPEG decoding on or off (see the class comment; off by default and
     * wherever Pillow parity is promised). The option {@code loupe.image.fast-jpeg-downscale} sets it.
     */
    public ImageDecoder withFastJpegDownscale(boolean on) {
        return on == fastJpegDownscale ? this : new ImageDecoder(maxEncodedBytes, maxPixels, on);
    }

    public boolean fastJpegDownscale() {
        return fastJpegDownscale;
    }

    /**
     * ImageIO registers plugins found by the class loader that first touched it; under Flink's user-code
     * class loader the TwelveMonkeys plugins may be invisible to it. Register them from our own loader.
     */
    private static synchronized void ensurePluginsRegistered() {
        if (ImageIO.getImageReadersByFormatName("webp").hasNext()) {
            return;
        }
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try {
            thread.setContextClassLoader(ImageDecoder.class.getClassLoader());
            ImageIO.scanForPlugins();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    public long maxEncodedBytes() {
        return maxEncodedBytes;
    }

    public long maxPixels() {
        return maxPixels;
    }

    /**
     * @throws AnnotationException IMAGE_EMPTY, IMAGE_TOO_LARGE, IMAGE_UNSUPPORTED_FORMAT,
     *                             IMAGE_TOO_MANY_PIXELS or IMAGE_CORRUPT
     */
    public RgbImage decode(byte[] encoded) throws AnnotationException {
        return decodeRows(encoded).toImage();
    }

    /** As {@link #decode}, the RGB conversion left to be done row by row by whoever reads the rows. */
    RgbRows decodeRows(byte[] encoded) throws AnnotationException {
        return decodeRows(encoded, 0, 0);
    }

    /**
     * As {@link #decodeRows(byte[])}, for a caller that needs at least {@code minWidth x minHeight} pixels: with
     * {@link #withFastJpegDownscale reduced-scale decoding} on, a JPEG may come back that much smaller (0, 0: full
     * size). Off, the size hint is ignored.
     */
    RgbRows decodeRows(byte[] encoded, int minWidth, int minHeight) throws AnnotationException {
        if (encoded == null || encoded.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "the image has zero bytes");
        }
        if (encoded.length > maxEncodedBytes) {
            throw new AnnotationException(ErrorCode.IMAGE_TOO_LARGE,
                    "the image has " + encoded.length + " bytes, over the limit of " + maxEncodedBytes);
        }
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new AnnotationException(ErrorCode.IMAGE_UNSUPPORTED_FORMAT,
                        "the bytes are not an image in a supported format (JPEG, PNG, WebP, BMP, GIF)");
            }
            ImageReader reader = readers.next();
            try {
                return decode(reader, in, encoded, minWidth, minHeight);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            // Only closing the in-memory stream can get here.
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "could not read the image: " + e.getMessage(), e);
        }
    }

    private RgbRows decode(ImageReader reader, ImageInputStream in, byte[] encoded, int minWidth, int minHeight) throws AnnotationException {
        String format = formatName(reader);
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((IIOReadWarningListener) (source, warning) -> warnings.add(warning));
        reader.setInput(in, true, false);
        try {
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width <= 0 || height <= 0) {
                throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "the " + format + " header gives size " + width + "x" + height);
            }
            if ((long) width * height > maxPixels) {
                throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS, "the " + format + " image is " + width + "x"
                        + height + " = " + (long) width * height + " pixels, over the limit of " + maxPixels);
            }
            if (format.equals("jpeg")) {
                int scale = fastJpegDownscale ? downscale(width, height, minWidth, minHeight) : 1;
                return decodeJpeg(reader, encoded, warnings, scale);
            }
            BufferedImage image = reader.read(0, reader.getDefaultReadParam());
            requireNoWarnings(format, warnings);
            return RasterToRgb.rows(image.getRaster(), image.getColorModel());
        } catch (AnnotationException e) {
            throw e;
        } catch (RasterToRgb.UnsupportedLayout e) {
            throw new AnnotationException(ErrorCode.IMAGE_UNSUPPORTED_FORMAT, "the " + format + " image: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            // Decoders report damaged data as IIOException, EOFException or, for some plugins, unchecked exceptions.
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT,
                    "the " + format + " image is corrupt or truncated: " + e, e);
        }
    }

    /**
     * JPEGs are read as raw samples and converted here, as libjpeg and Pillow do, so that no ICC profile or
     * plugin-specific CMYK conversion changes the values.
     */
    /** The largest of 8, 4, 2 (libjpeg's DCT scales) that keeps both sides at least the minimum; else 1. */
    static int downscale(int width, int height, int minWidth, int minHeight) {
        if (minWidth <= 0 || minHeight <= 0) {
            return 1;
        }
        for (int s = 8; s > 1; s /= 2) {
            if ((width + s - 1) / s >= minWidth && (height + s - 1) / s >= minHeight) {
                return s;
            }
        }
        return 1;
    }

    private static RgbRows decodeJpeg(ImageReader reader, byte[] encoded, List<String> warnings, int scale)
            throws IOException, AnnotationException {
        JpegStructure jpeg = JpegStructure.parse(encoded);
        if (!jpeg.complete) {
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "the JPEG is truncated (no end-of-image marker after the scan data)");
        }
        if (jpeg.stored == JpegStructure.Stored.OTHER) {
            throw new AnnotationException(ErrorCode.IMAGE_UNSUPPORTED_FORMAT, "JPEG with " + jpeg.components + " components");
        }
        ImageReadParam param = reader.getDefaultReadParam();
        if (scale > 1) {
            param.setSourceSubsampling(scale, scale, 0, 0);
        }
        Raster raster = reader.readRaster(0, param);
        requireNoWarnings("jpeg", warnings);
        if (raster.getNumBands() != jpeg.components) {
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "the JPEG declares " + jpeg.components
                    + " components but decodes to " + raster.getNumBands());
        }
        return JpegColour.rows(raster, jpeg.stored);
    }

    private static void requireNoWarnings(String format, List<String> warnings) throws AnnotationException {
        if (!warnings.isEmpty()) {
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "the " + format + " image is corrupt or truncated: " + warnings);
        }
    }

    private static String formatName(ImageReader reader) {
        try {
            return reader.getFormatName().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            return "image";
        }
    }
}
