package dev.loupe.model.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The image half of LLaVA's processor, matching transformers' (slow) {@code CLIPImageProcessor}: decode, RGB,
 * resize so the shortest edge is {@code size.shortest_edge} (long edge {@code int(size * long / short)}) with
 * Pillow's filter, centre crop to {@code crop_size} with offsets {@code (dim - crop) // 2} (floor; an image
 * smaller than the crop is padded with zeros, as {@code image_transforms.center_crop} does), then rescale and
 * normalise exactly as {@link BlipImageProcessor}. Thread-safe.
 */
public final class ClipImageProcessor implements ImagePreprocessor {

    private final ImageDecoder decoder;
    private final boolean doResize;
    private final int shortestEdge;
    private final int resizeHeight;
    private final int resizeWidth;
    private final PillowResampler resampler;
    private final boolean doCenterCrop;
    private final int cropHeight;
    private final int cropWidth;
    private final BlipImageProcessor normaliser;

    /**
     * @param shortestEdge resize target of the shortest edge, or 0 to resize to {@code resizeHeight x resizeWidth}
     */
    public ClipImageProcessor(ImageDecoder decoder, boolean doResize, int shortestEdge, int resizeHeight,
                              int resizeWidth, PillowResampler.Filter filter, boolean doCenterCrop, int cropHeight,
                              int cropWidth, boolean doRescale, double rescaleFactor, boolean doNormalize,
                              double[] mean, double[] std) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        if (doResize && shortestEdge <= 0 && (resizeHeight <= 0 || resizeWidth <= 0)) {
            throw new IllegalArgumentException("resize needs a positive shortest_edge or height and width");
        }
        if (doCenterCrop && (cropHeight <= 0 || cropWidth <= 0)) {
            throw new IllegalArgumentException("crop_size must be positive, got " + cropHeight + "x" + cropWidth);
        }
        this.doResize = doResize;
        this.shortestEdge = shortestEdge;
        this.resizeHeight = resizeHeight;
        this.resizeWidth = resizeWidth;
        this.resampler = new PillowResampler(Objects.requireNonNull(filter, "filter"));
        this.doCenterCrop = doCenterCrop;
        this.cropHeight = cropHeight;
        this.cropWidth = cropWidth;
        // Rescale + normalise only: the image reaching it has its final size already.
        this.normaliser = new BlipImageProcessor(decoder, Math.max(cropHeight, 1), Math.max(cropWidth, 1), false,
                filter, doRescale, rescaleFactor, doNormalize, mean, std);
    }

    /** Reads {@code preprocessor_config.json} from a checkpoint or package folder. */
    public static ClipImageProcessor fromCheckpoint(Path dir, ImageDecoder decoder) {
        return fromConfig(PreprocessorConfig.read(dir), decoder);
    }

    /** From the parsed {@code preprocessor_config.json}; CLIPImageProcessor's defaults fill missing keys. */
    public static ClipImageProcessor fromConfig(JsonNode config, ImageDecoder decoder) {
        String type = config.path("image_processor_type").asText("CLIPImageProcessor");
        if (!type.startsWith("CLIPImageProcessor")) {
            throw new IllegalArgumentException("not a CLIPImageProcessor config: " + type);
        }
        JsonNode size = config.path("size");
        int shortest = 224;
        int h = 0;
        int w = 0;
        if (size.isInt()) {
            shortest = size.asInt();
        } else if (size.has("shortest_edge")) {
            shortest = size.get("shortest_edge").asInt();
        } else if (size.has("height") && size.has("width")) {
            shortest = 0;
            h = size.get("height").asInt();
            w = size.get("width").asInt();
        } else if (!size.isMissingNode() && !size.isNull()) {
            throw new IllegalArgumentException("CLIPImageProcessor needs size {shortest_edge} or {height, width}, got "
                    + size);
        }
        JsonNode crop = config.path("crop_size");
        int ch = 224;
        int cw = 224;
        if (crop.isInt()) {
            ch = cw = crop.asInt();
        } else if (crop.has("height") && crop.has("width")) {
            ch = crop.get("height").asInt();
            cw = crop.get("width").asInt();
        } else if (!crop.isMissingNode() && !crop.isNull()) {
            throw new IllegalArgumentException("crop_size must be {height, width}, got " + crop);
        }
        return new ClipImageProcessor(decoder, config.path("do_resize").asBoolean(true), shortest, h, w,
                PillowResampler.Filter.fromPillowId(config.path("resample").asInt(3)),
                config.path("do_center_crop").asBoolean(true), ch, cw,
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
        return decode(encoded, rows -> new Preprocessed(toTensor(rows), Thumbnails.of(rows, maxSide)));
    }

    /** {@code use} reads the decoded rows before the decoder reuses their buffer (no heap copy of the image). */
    private <T> T decode(byte[] encoded, RgbRows.Use<T> use) throws AnnotationException {
        if (!doResize) {
            return decoder.decodeRows(encoded, 0, 0, use);
        }
        // The resize keeps the shortest edge at least shortestEdge (or the fixed size), so may start from there.
        return shortestEdge > 0 ? decoder.decodeRows(encoded, shortestEdge, shortestEdge, use)
                : decoder.decodeRows(encoded, resizeWidth, resizeHeight, use);
    }

    /** Resize, crop, rescale and normalise an already decoded image. */
    public ImageTensor toTensor(RgbImage image) throws AnnotationException {
        return toTensor(RgbRows.of(image));
    }

    private ImageTensor toTensor(RgbRows image) throws AnnotationException {
        RgbImage sized;
        if (!doResize) {
            sized = image.toImage();
        } else {
            int h;
            int w;
            if (shortestEdge > 0) {
                int shortSide = Math.min(image.width, image.height);
                int longSide = Math.max(image.width, image.height);
                // Python: int(size * long / short), a float64 division truncated.
                long newLong = (long) ((double) ((long) shortestEdge * longSide) / shortSide);
                if (newLong * shortestEdge > decoder.maxPixels()) {
                    throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS, "a " + image.width + "x"
                            + image.height + " image resized to a shortest edge of " + shortestEdge + " would have "
                            + newLong * shortestEdge + " pixels, over the limit of " + decoder.maxPixels());
                }
                boolean portrait = image.width <= image.height;
                w = portrait ? shortestEdge : (int) newLong;
                h = portrait ? (int) newLong : shortestEdge;
            } else {
                h = resizeHeight;
                w = resizeWidth;
            }
            sized = resampler.resize(image, w, h);
        }
        return normaliser.toTensor(doCenterCrop ? centerCrop(sized, cropHeight, cropWidth) : sized);
    }

    /**
     * transformers' {@code center_crop}: the window starts at {@code (dim - crop) // 2}; where the image is smaller
     * than the crop it is centred on zeros (its offset {@code ceil((crop - dim) / 2)} equals {@code -floor((dim -
     * crop) / 2)}, so one formula covers both).
     */
    static RgbImage centerCrop(RgbImage in, int cropHeight, int cropWidth) {
        if (in.height() == cropHeight && in.width() == cropWidth) {
            return in;
        }
        int top = Math.floorDiv(in.height() - cropHeight, 2);
        int left = Math.floorDiv(in.width() - cropWidth, 2);
        byte[] src = in.rgb();
        byte[] out = new byte[3 * cropHeight * cropWidth];
        for (int y = 0; y < cropHeight; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= in.height()) {
                continue;
            }
            for (int x = 0; x < cropWidth; x++) {
                int sx = x + left;
                if (sx >= 0 && sx < in.width()) {
                    System.arraycopy(src, 3 * (sy * in.width() + sx), out, 3 * (y * cropWidth + x), 3);
                }
            }
        }
        return new RgbImage(cropWidth, cropHeight, out);
    }

    public ImageDecoder decoder() {
        return decoder;
    }
}
