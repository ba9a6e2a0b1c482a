package dev.loupe.model.t5;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.layers.Activation;

/**
 * The T5 / Flan-T5 settings the graphs need, read from a transformers {@code T5Config} (InstructBLIP's
 * {@code text_config}). {@code feed_forward_proj} decides the MLP as transformers does: "gated-gelu" is the
 * T5 v1.1 gated MLP with the tanh GELU ({@code gelu_new}), "relu" the original T5 one.
 */
public record T5Config(int dModel, int dKv, int dFf, int numHeads, int numLayers, int numDecoderLayers,
                       int relativeAttentionNumBuckets, int relativeAttentionMaxDistance, double layerNormEpsilon,
                       int vocabSize, boolean gatedAct, Activation activation, boolean tieWordEmbeddings,
                       int decoderStartTokenId) {

    public T5Config {
        if (dModel <= 0 || dKv <= 0 || dFf <= 0 || numHeads <= 0 || numLayers <= 0 || numDecoderLayers <= 0
                || vocabSize <= 0 || relativeAttentionNumBuckets < 2 || relativeAttentionMaxDistance <= 0) {
            throw new IllegalArgumentException("invalid T5 dimensions");
        }
    }

    /** Width of the attention projections, heads * d_kv. */
    public int innerDim() {
        return numHeads * dKv;
    }

    public static T5Config fromJson(JsonNode text) {
        if (!"t5".equals(text.path("model_type").asText("t5"))) {
            throw new IllegalArgumentException("language model type '" + text.path("model_type").asText()
                    + "' is not t5");
        }
        String proj = text.path("feed_forward_proj").asText("relu");
        String[] parts = proj.split("-");
        boolean gated = parts.length > 1 && "gated".equals(parts[0]);
        if (parts.length > 2 || (parts.length == 2 && !gated)) {
            throw new IllegalArgumentException("feed_forward_proj '" + proj + "' is not supported");
        }
        String act = "gated-gelu".equals(proj) ? "gelu_new" : parts[parts.length - 1];
        int layers = text.path("num_layers").asInt(6);
        return new T5Config(
                text.path("d_model").asInt(512),
                text.path("d_kv").asInt(64),
                text.path("d_ff").asInt(2048),
                text.path("num_heads").asInt(8),
                layers,
                text.path("num_decoder_layers").isInt() ? text.get("num_decoder_layers").asInt() : layers,
                text.path("relative_attention_num_buckets").asInt(32),
                text.path("relative_attention_max_distance").asInt(128),
                text.path("layer_norm_epsilon").asDouble(1e-6),
                text.path("vocab_size").asInt(32128),
                gated,
                Activation.of("feed_forward_proj", act),
                text.path("tie_word_embeddings").asBoolean(true),
                text.path("decoder_start_token_id").asInt(0));
    }
}
