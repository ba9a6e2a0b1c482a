package dev.loupe.model.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the image processors read from a checkpoint's {@code preprocessor_config.json} the same way: the file itself
 * and the per-channel mean and standard deviation, with the OpenAI CLIP values transformers falls back to for both
 * BLIP's and CLIP's processors.
 */
final class PreprocessorConfig {
    static final double[] OPENAI_CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    static final double[] OPENAI_CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    private static final ObjectMapper JSON = new ObjectMapper();

    private PreprocessorConfig() {
    }

    /** The parsed {@code preprocessor_config.json} of a checkpoint or package folder. */
    static JsonNode read(Path dir) {
        Path file = dir.resolve("preprocessor_config.json");
        try {
            return JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** {@code image_mean}: 3 numbers, or one for every channel; {@link #OPENAI_CLIP_MEAN} when missing. */
    static double[] mean(JsonNode config) {
        return channels(config, "image_mean", OPENAI_CLIP_MEAN);
    }

    /** {@code image_std}: 3 numbers, or one for every channel; {@link #OPENAI_CLIP_STD} when missing. */
    static double[] std(JsonNode config) {
        return channels(config, "image_std", OPENAI_CLIP_STD);
    }

    private static double[] channels(JsonNode config, String key, double[] fallback) {
        JsonNode node = config.get(key);
        if (node == null || node.isNull()) {
            return fallback.clone();
        }
        if (node.isNumber()) {
            return new double[]{node.asDouble(), node.asDouble(), node.asDouble()};
        }
        if (!node.isArray() || node.size() != 3) {
            throw new IllegalArgumentException(key + " must be a number or 3 numbers, got " + node);
        }
        return new double[]{node.get(0).asDouble(), node.get(1).asDouble(), node.get(2).asDouble()};
    }
}
