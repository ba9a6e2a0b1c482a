package dev.loupe.model.llm;

import java.util.Locale;

/**
 * Which decoder graph {@code loupe convert} writes for a decoder-only language model. {@link #FUSED} (the default) is
 * {@link FusedLlamaGraphs} or {@link FusedOptGraphs}: ONNX Runtime's fused attention and norm kernels and a KV cache
 * written in place; {@link #PLAIN} is {@link LlamaGraphs} / {@link OptGraphs}, plain ONNX operators with a left-padded
 * cache concatenated per step, which is what packages written before the fused graphs hold (they still load and run).
 * A LLaMA model whose heads the fused rotary kernel does not take ({@link FusedLlamaGraphs#supports}) gets the plain
 * graph whatever is asked. The package's
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
        boolean fusable = config instanceof OptConfig || FusedLlamaGraphs.supports(config);
        return this == FUSED && fusable ? FUSED : PLAIN;
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
