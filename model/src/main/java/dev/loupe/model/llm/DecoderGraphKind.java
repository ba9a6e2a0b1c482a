package dev.loupe.model.llm;

import java.util.Locale;

/**
 * Which decoder graph {@code loupe convert} writes for a LLaMA language model. {@link #FUSED} (the default) is
 * {@link FusedLlamaGraphs}: ONNX Runtime's fused attention and norm kernels and a KV cache written in place;
 * {@link #PLAIN} is {@link LlamaGraphs}, plain ONNX operators with a left-padded cache concatenated per step, which is
 * what packages written before the fused graph hold (they still load and run). A model whose heads the fused kernel
 * does not take ({@link FusedLlamaGraphs#supports}), and OPT, get the plain graph whatever is asked. The package's
 * {@code manifest.json} records the graph written ({@code dimensions.llm_decoder}); at run time the graph itself
 * says which cache it needs.
 */
public enum DecoderGraphKind {
    FUSED("fused"),
    PLAIN("plain");

    /** The manifest's {@code dimensions} field naming the decoder graph written. */
    public static final String MANIFEST_FIELD = "llm_decoder";

    private final String label;

    DecoderGraphKind(String label) {
        this.label = label;
    }

    /** The name used by {@code loupe convert --decoder} and manifest.json. */
    public String label() {
        return label;
    }

    /** The graph actually written for {@code config} when this kind is asked for. */
    public DecoderGraphKind resolve(DecoderConfig config) {
        return this == FUSED && FusedLlamaGraphs.supports(config) ? FUSED : PLAIN;
    }

    /** Parses "fused" or "plain" (case-insensitive). */
    public static DecoderGraphKind parse(String name) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "fused" -> FUSED;
            case "plain" -> PLAIN;
            default -> throw new IllegalArgumentException("decoder must be fused or plain, got '" + name + "'");
        };
    }
}
