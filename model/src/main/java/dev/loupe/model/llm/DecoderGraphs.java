package dev.loupe.model.llm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;

/**
 * Picks the decoder-only language model a vision-language checkpoint's {@code text_config} names (LLaMA or OPT) and
 * builds its graphs, so converters and annotators handle every supported language model through one interface.
 */
public final class DecoderGraphs {
    private DecoderGraphs() {}

    /** The config of a {@code text_config} whose {@code model_type} is llama (the default) or opt. */
    public static DecoderConfig config(JsonNode textConfig) {
        String type = textConfig == null ? "" : textConfig.path("model_type").asText("llama");
        return switch (type) {
            case "llama" -> LlamaConfig.fromJson(textConfig);
            case "opt" -> OptConfig.fromJson(textConfig);
            default -> throw new IllegalArgumentException("language model type '" + type
                    + "' is not supported; expected llama or opt");
        };
    }

    /** The token embedding graph ({@link LlamaGraphs#tokenEmbedding} / {@link OptGraphs#tokenEmbedding}). */
    public static GraphBuilder tokenEmbedding(SafetensorsCheckpoint ckpt, String prefix, DecoderConfig config) {
        if (config instanceof OptConfig opt) {
            return OptGraphs.tokenEmbedding(ckpt, prefix, opt);
        }
        return LlamaGraphs.tokenEmbedding(ckpt, prefix, (LlamaConfig) config);
    }

    /**
     * The decoder graph {@code kind} asks for where the model allows it ({@link DecoderGraphKind#resolve}): the fused
     * LLaMA or OPT decoder ({@link FusedLlamaGraphs}, {@link FusedOptGraphs}), or the plain one with the selectable logits of {@code mode}.
     */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, DecoderConfig config,
                                       DecoderGraphKind kind, LlamaGraphs.LogitsMode mode) {
        if (kind.resolve(config) == DecoderGraphKind.FUSED) {
            return config instanceof OptConfig opt ? FusedOptGraphs.decoder(ckpt, prefix, opt)
                    : FusedLlamaGraphs.decoder(ckpt, prefix, (LlamaConfig) config);
        }
        return decoder(ckpt, prefix, config, mode);
    }

    /** The decoder graph with KV cache ({@link LlamaGraphs#decoder} / {@link OptGraphs#decoder}). */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, DecoderConfig config,
                                       LlamaGraphs.LogitsMode mode) {
        if (config instanceof OptConfig opt) {
            return OptGraphs.decoder(ckpt, prefix, opt, mode);
        }
        return LlamaGraphs.decoder(ckpt, prefix, (LlamaConfig) config, mode);
    }
}
