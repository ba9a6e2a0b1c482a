package dev.loupe.model.onnx;

import java.util.Locale;

/**
 * How a model package stores its weights. {@link #FP16} halves the package on disk: weights are float16
 * initializers, each cast to float32 inside the graph, so every op still computes in float32 (see
 * {@link OnnxModelWriter}).
 */
public enum Precision {
    FP32("fp32", 4), FP16("fp16", 2);

    private final String label;
    private final int bytes;

    Precision(String label, int bytes) {
        this.label = label;
        this.bytes = bytes;
    }

    /** The name used by {@code --dtype} and manifest.json ("fp32", "fp16"). */
    public String label() {
        return label;
    }

    /** Bytes per stored weight value. */
    public int bytes() {
        return bytes;
    }

    /** Parses "fp32"/"float32" or "fp16"/"float16" (case-insensitive). */
    public static Precision parse(String name) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32" -> FP32;
            case "fp16", "float16" -> FP16;
            default -> throw new IllegalArgumentException("dtype must be fp32 or fp16, got '" + name + "'");
        };
    }
}
