package dev.loupe.model.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * The image half of BLIP / BLIP-2 / InstructBLIP processors, matching transformers' (slow)
 * {@code BlipImageProcessor}: decode, convert to RGB, resize straight to the square size with Pillow's
 * filter (no crop), rescale ({@code float64} multiply, then cast to {@code float32}), normalise
 * ({@code (x - mean) / std} in {@code float32}), channels first. Configured from a checkpoint's
 * {@code preprocessor_config.json}. Thread-safe.
 */
public final class BlipImageProcessor implements ImagePreprocessor {

    private final ImageDecoder decoder;
    private final int height;
    private final int width;
    private final boolean doResize;
    private final PillowResampler resampler;
    private final boolean doRescale;
    private final double rescaleFactor;
    private final boolean doNormalize;
    private final float[] mean;
    private final float[] std;
    /** Per channel, the tensor value of each 8-bit sample: the rescale and normalise below, done once. */
    private final float[][] lut;

    public BlipImageProcessor(ImageDecoder decoder, int height, int width, boolean doResize, PillowResampler.Filter filter,
                              boolean doRescale, double rescaleFactor, boolean doNormalize, double[] mean, double[] std) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("size must be positive, got " + height + "x" + width);
        }
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("image_mean and image_std need 3 values each");
        }
        this.height = height;
        this.width = width;
        this.doResize = doResize;
        this.resampler = new PillowResampler(Objects.requireNonNull(filter, "filter"));
        this.doRescale = doRescale;
        this.rescaleFactor = rescaleFactor;
        this.doNormalize = doNormalize;
        // numpy casts mean and std to the image's dtype (float32) before normalising.
        this.mean = new float[3];
        this.std = new float[3];
        for (int c = 0; c < 3; c++) {
            this.mean[c] = (float) mean[c];
            this.std[c] = (float) std[c];
            if (this.std[c] == 0f) {
                throw new IllegalArgumentException("image_std must not be zero");
            }
        }
        this.lut = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                lut[c][v] = value(v, c);
            }
        }
    }

    /** Sample {@code v} of channel {@code c} rescaled ({@code float64} multiply, {@code float32} cast) and normalised. */
    private float value(int v, int c) {
        float x = doRescale ? (float) (v * rescaleFactor) : (float) v;
        return doNormalize ? (x - mean[c]) / std[c] : x;
    }

    /** Reads {@code preprocessor_config.json} from a checkpoint folder; default decoder limits. */
    public static BlipImageProcessor fromCheckpoint(Path checkpointDir) {
        return fromCheckpoint(checkpointDir, new ImageDecoder());
    }

    public static BlipImageProcessor fromCheckpoint(Path checkpointDir, ImageDecoder decoder) {
        return fromConfig(PreprocessorConfig.read(checkpointDir), decoder);
    }

    /** From the parsed {@code preprocessor_config.json}; transformers' defaults fill missing keys. */
    public static BlipImageProcessor fromConfig(JsonNode config, ImageDecoder decoder) {
        JsonNode size = config.path("size");
        int h = 384;
        int w = 384;
        if (!size.isMissingNode() && !size.isNull()) {
            if (size.isInt()) {
                h = w = size.asInt();
            } else if (size.has("height") && size.has("width")) {
                h = size.get("height").asInt();
                w = size.get("width").asInt();
            } else {
                throw new IllegalArgumentException("BlipImageProcessor needs size {height, width}, got " + size);
            }
        }
        String type = config.path("image_processor_type").asText("BlipImageProcessor");
        if (!type.startsWith("BlipImageProcessor")) {
            throw new IllegalArgumentException("not a BlipImageProcessor config: " + type);
        }
        return new BlipImageProcessor(decoder, h, w,
                config.path("do_resize").asBoolean(true),
                PillowResampler.Filter.fromPillowId(config.path("resample").asInt(3)),
                config.path("do_rescale").asBoolean(true),
                config.path("rescale_factor").asDouble(1.0 / 255),
                config.path("do_normalize").asBoolean(true),
                PreprocessorConfig.mean(config),
                PreprocessorConfig.std(config));
    }

    @Override
    public ImageTensor preprocess(byte[] encoded) throws AnnotationException {
        return decode(encoded, this::toTensor);
    }

    @Override
    public Preprocessed preprocessWithThumbnail(byte[] encoded, int maxSide) throws AnnotationException {
        return preprocessed(encoded, true, maxSide, float[]::new);
    }

    @Override
    public Preprocessed preprocess(byte[] encoded, int maxSide, IntFunction<float[]> buffers) throws AnnotationException {
        return preprocessed(encoded, maxSide > 0, maxSide, buffers);
    }

    private Preprocessed preprocessed(byte[] encoded, boolean thumbnail, int maxSide, IntFunction<float[]> buffers)
            throws AnnotationException {
        return decode(encoded, rows -> {
            RgbImage sized = sized(rows);
            return new Preprocessed(tensor(sized, buffers),
                    thumbnail ? Thumbnails.of(rows, doResize ? sized : null, maxSide) : null);
        });
    }

    /** {@code use} reads the decoded rows before the decoder reuses their buffer (no heap copy of the image). */
    private <T> T decode(byte[] encoded, RgbRows.Use<T> use) throws AnnotationException {
        return doResize ? decoder.decodeRows(encoded, width, height, use) : decoder.decodeRows(encoded, 0, 0, use);
    }

    /** Resize, rescale and normalise an already decoded image. */
    public ImageTensor toTensor(RgbImage image) {
        return toTensor(RgbRows.of(image));
    }

    ImageTensor toTensor(RgbRows image) {
        return tensor(sized(image));
    }

    /** The image at the model's input size (resized when the processor resizes). */
    private RgbImage sized(RgbRows image) {
        return doResize ? resampler.resize(image, width, height) : image.toImage();
    }

    /** Rescaled and normalised, channels first. */
    private ImageTensor tensor(RgbImage sized) {
        return tensor(sized, float[]::new);
    }

    /** As {@link #tensor(RgbImage)}, into an array from {@code buffers} (every value is written). */
    private ImageTensor tensor(RgbImage sized, IntFunction<float[]> buffers) {
        int h = sized.height();
        int w = sized.width();
        int plane = h * w;
        byte[] rgb = sized.rgb();
        float[] chw = buffers.apply(3 * plane);
        if (chw == null || chw.length != 3 * plane) {
            throw new IllegalStateException("a pixel buffer of " + 3 * plane + " values was asked for, got "
                    + (chw == null ? "none" : chw.length));
        }
        float[] r = lut[0];
        float[] g = lut[1];
        float[] b = lut[2];
        for (int p = 0, i = 0; p < plane; p++, i += 3) {
            chw[p] = r[rgb[i] & 0xFF];
            chw[plane + p] = g[rgb[i + 1] & 0xFF];
            chw[2 * plane + p] = b[rgb[i + 2] & 0xFF];
        }
        return new ImageTensor(chw, 3, h, w);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public ImageDecoder decoder() {
        return decoder;
    }
}
