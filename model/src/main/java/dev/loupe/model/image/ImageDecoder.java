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
 * <p>JPEGs go to libjpeg-turbo ({@link TurboJpegDecoder}, Pillow's own decoder) where {@code libturbojpeg.so.0} is
 * installed, else, and for what it does not decode as Pillow does (CMYK/YCCK, lossless, 12-bit), to ImageIO (IJG
 * libjpeg 6b) with the conversions of {@link JpegColour}; one log line at start-up says which is active. Both give
 * the same pixels on 8-bit grey, YCbCr and RGB JPEGs except 4:4:0 chroma, where libjpeg-turbo (like Pillow)
 * interpolates and libjpeg 6b repeats rows.
 *
 * <p>It reads the raw raster, never colour-managed {@code getRGB}: alpha is dropped (not composited),
 * grey is replicated, palettes are looked up, 16-bit colour keeps the high byte, 16-bit grey is clipped to
 * 255 (Pillow's {@code I;16 -> RGB}), CMYK uses Pillow's naive {@code cmyk2rgb}. Embedded ICC profiles and
 * gamma are ignored, as Pillow does. The image's size is read from the header and checked against the
 * pixel limit before any pixel is decoded (decompression bombs); truncated files are rejected rather than
 * returned half grey. Thread-safe: each call uses its own reader or TurboJPEG handle.
 *
 * <p><b>Reduced-scale JPEG decoding</b> ({@link #withFastJpegDownscale}, off by default): when the caller says
 * how large the image must stay ({@link #decodeRows(byte[], int, int)}, as the processors do), a JPEG is decoded at
 * 1/2, 1/4 or 1/8 scale, the largest that Pillow's {@code Image.draft("RGB", (minWidth, minHeight))} would pick
 * (both sides at least that many times the minimum). With libjpeg-turbo that is DCT scaling, pixel for pixel
 * Pillow's {@code draft}; with ImageIO it is source subsampling (every s-th pixel, no averaging), a cheaper and
 * rougher stand-in. At 1/8, the common scale for camera photos, baseline grey, 4:2:0 and 4:4:4 JPEGs go to
 * {@link EighthScaleJpegDecoder} instead (Java, the same pixels as libjpeg-turbo's 1/8, faster, with either
 * decoder installed; {@link #withEighthScaleDecoder} switches it off). Either way the tensor differs from the exact path's: never use it where parity is promised (see
 * docs/benchmarks.md for the measured difference).
 */
public final class ImageDecoder {
    public static final long DEFAULT_MAX_ENCODED_BYTES = 50L * 1024 * 1024; // = ImageLimits.DEFAULT
    public static final long DEFAULT_MAX_PIXELS = 40_000_000L;

    private final long maxEncodedBytes;
    private final long maxPixels;
    private final boolean fastJpegDownscale;
    /** Whether 1/8-scale decodes go to {@link EighthScaleJpegDecoder} where it takes the file. */
    private final boolean eighthScaleDecoder;
    /** libjpeg-turbo, or null: ImageIO decodes every JPEG. */
    private final TurboJpegDecoder turbo;

    /** Limits of {@value #DEFAULT_MAX_ENCODED_BYTES} encoded bytes and {@value #DEFAULT_MAX_PIXELS} pixels. */
    public ImageDecoder() {
        this(DEFAULT_MAX_ENCODED_BYTES, DEFAULT_MAX_PIXELS);
    }

    public ImageDecoder(long maxEncodedBytes, long maxPixels) {
        this(maxEncodedBytes, maxPixels, false, true, TurboJpegDecoder.shared());
    }

    private ImageDecoder(long maxEncodedBytes, long maxPixels, boolean fastJpegDownscale, boolean eighthScaleDecoder,
                         TurboJpegDecoder turbo) {
        if (maxEncodedBytes <= 0 || maxPixels <= 0) {
            throw new IllegalArgumentException("limits must be positive: " + maxEncodedBytes + " bytes, " + maxPixels + " pixels");
        }
        this.maxEncodedBytes = maxEncodedBytes;
        this.maxPixels = maxPixels;
        this.fastJpegDownscale = fastJpegDownscale;
        this.eighthScaleDecoder = eighthScaleDecoder;
        this.turbo = turbo;
        ensurePluginsRegistered();
    }

    /**
     * This decoder's limits with reduced-scale JPEG decoding on or off (see the class comment; off by default and
     * wherever Pillow parity is promised). The option {@code loupe.image.fast-jpeg-downscale} sets it.
     */
    public ImageDecoder withFastJpegDownscale(boolean on) {
        return on == fastJpegDownscale ? this
                : new ImageDecoder(maxEncodedBytes, maxPixels, on, eighthScaleDecoder, turbo);
    }

    /**
     * This decoder with reduced-scale decodes at 1/8 done by the Java {@link EighthScaleJpegDecoder} where it takes
     * the file (the default: the same pixels as libjpeg-turbo's, faster), or always by libjpeg-turbo (or ImageIO):
     * to compare the two. No effect unless {@link #withFastJpegDownscale reduced-scale decoding} is on.
     */
    public ImageDecoder withEighthScaleDecoder(boolean on) {
        return on == eighthScaleDecoder ? this
                : new ImageDecoder(maxEncodedBytes, maxPixels, fastJpegDownscale, on, turbo);
    }

    /**
     * This decoder with JPEGs decoded by libjpeg-turbo where it is installed (the default), or always by ImageIO
     * (off: to compare the two, or to rule the native library out).
     */
    public ImageDecoder withTurboJpeg(boolean on) {
        TurboJpegDecoder wanted = on ? TurboJpegDecoder.shared() : null;
        return wanted == turbo ? this
                : new ImageDecoder(maxEncodedBytes, maxPixels, fastJpegDownscale, eighthScaleDecoder, wanted);
    }

    /** Which library decodes this decoder's (8-bit grey, YCbCr and RGB) JPEGs: "libjpeg-turbo" or "imageio". */
    public String jpegDecoder() {
        return turbo != null ? "libjpeg-turbo" : "imageio";
    }

    /** One sentence: the JPEG decoder of this process's default decoders, and why (also logged once at start-up). */
    public static String activeJpegDecoder() {
        return TurboJpegDecoder.activeDecoder();
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
        return decodeRows(encoded, minWidth, minHeight, RgbRows::onHeap);
    }

    /**
     * As {@link #decodeRows(byte[], int, int)}, the rows handed to {@code use} and valid only until it returns: a
     * libjpeg-turbo decode is read straight from its native buffer, with no copy of the image on the heap. Exceptions
     * from {@code use} pass through unchanged.
     */
    <T> T decodeRows(byte[] encoded, int minWidth, int minHeight, RgbRows.Use<T> use) throws AnnotationException {
        if (encoded == null || encoded.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "the image has zero bytes");
        }
        if (encoded.length > maxEncodedBytes) {
            throw new AnnotationException(ErrorCode.IMAGE_TOO_LARGE,
                    "the image has " + encoded.length + " bytes, over the limit of " + maxEncodedBytes);
        }
        if (fastJpegDownscale && eighthScaleDecoder && isJpeg(encoded)) {
            RgbRows rows = decodeAtEighthScale(encoded, minWidth, minHeight);
            if (rows != null) {
                return use.apply(rows);
            }
        }
        if (turbo != null && isJpeg(encoded)) {
            T done = decodeWithTurbo(encoded, minWidth, minHeight, use);
            if (done != null) {
                return done;
            }
        }
        return use.apply(decodeWithImageIo(encoded, minWidth, minHeight));
    }

    private RgbRows decodeWithImageIo(byte[] encoded, int minWidth, int minHeight) throws AnnotationException {
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

    private static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
    }

    /**
     * The image at 1/8 scale from {@link EighthScaleJpegDecoder} when the size rule picks 1/8 and it takes the file;
     * null sends the file down the usual path (which also gives damaged files their verdict).
     */
    private RgbRows decodeAtEighthScale(byte[] encoded, int minWidth, int minHeight) throws AnnotationException {
        int[] size = EighthScaleJpegDecoder.size(encoded);
        if (size == null) {
            return null;
        }
        checkPixels("jpeg", size[0], size[1]);
        if (downscale(size[0], size[1], minWidth, minHeight) != 8) {
            return null;
        }
        JpegStructure.Stored stored = JpegStructure.parse(encoded).stored;
        if (stored != JpegStructure.Stored.YCBCR && stored != JpegStructure.Stored.GREY) {
            return null;
        }
        return EighthScaleJpegDecoder.decode(encoded);
    }

    /** Null for a JPEG that libjpeg-turbo does not decode as Pillow does: ImageIO takes it. */
    private <T> T decodeWithTurbo(byte[] encoded, int minWidth, int minHeight, RgbRows.Use<T> use)
            throws AnnotationException {
        JpegStructure jpeg = JpegStructure.parse(encoded);
        if (!jpeg.turboDecodable()) {
            return null;
        }
        return turbo.decode(encoded, jpeg.stored, (width, height) -> {
            checkPixels("jpeg", width, height);
            if (!jpeg.complete) {
                throw new AnnotationException(ErrorCode.IMAGE_CORRUPT,
                        "the JPEG is truncated (no end-of-image marker after the scan data)");
            }
            return fastJpegDownscale ? downscale(width, height, minWidth, minHeight) : 1;
        }, use);
    }

    private void checkPixels(String format, int width, int height) throws AnnotationException {
        if ((long) width * height > maxPixels) {
            throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS, "the " + format + " image is " + width + "x"
                    + height + " = " + (long) width * height + " pixels, over the limit of " + maxPixels);
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
            checkPixels(format, width, height);
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
     * The largest of 8, 4, 2 (libjpeg's DCT scales) with both sides at least that many times the minimum, else 1:
     * Pillow's {@code Image.draft} rule ({@code min(width // minWidth, height // minHeight)} rounded down to one of
     * them), so the reduced image is the one Pillow's {@code draft} would decode.
     */
    static int downscale(int width, int height, int minWidth, int minHeight) {
        if (minWidth <= 0 || minHeight <= 0) {
            return 1;
        }
        int fits = Math.min(width / minWidth, height / minHeight);
        for (int s = 8; s > 1; s /= 2) {
            if (fits >= s) {
                return s;
            }
        }
        return 1;
    }

    /**
     * JPEGs are read as raw samples and converted here, as libjpeg and Pillow do, so that no ICC profile or
     * plugin-specific CMYK conversion changes the values.
     */
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
