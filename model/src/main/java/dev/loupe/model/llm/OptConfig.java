package dev.loupe.model.llm;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The shape of an OPT decoder (BLIP-2's language model), read from a Hugging Face {@code config.json}'s
 * {@code text_config} (or a bare {@code OPTForCausalLM} config) with transformers' {@code OPTConfig} defaults.
 * Settings this runtime would get wrong (a projected embedding width, non-affine layer norms, activations other
 * than ReLU) are rejected here, at conversion or load time.
 *
 * @param ffnDim             width of the feed-forward block ({@code ffn_dim})
 * @param doLayerNormBefore  pre-norm blocks and a final layer norm (true for all OPT sizes except 350m)
 * @param enableBias         whether the linear layers carry biases
 * @param tieWordEmbeddings  whether the output head reuses the token embedding matrix
 */
public record OptConfig(
        int vocabSize,
        int hiddenSize,
        int ffnDim,
        int numHiddenLayers,
        int numAttentionHeads,
        int maxPositionEmbeddings,
        boolean doLayerNormBefore,
        boolean removeFinalLayerNorm,
        boolean enableBias,
        boolean tieWordEmbeddings) implements DecoderConfig {

    /** OPT's learned position table is offset by 2: position p reads row p + 2. */
    public static final int POSITION_OFFSET = 2;
    /** torch.nn.LayerNorm's default, which OPT uses. */
    public static final double LAYER_NORM_EPS = 1e-5;

    public OptConfig {
        LlamaConfig.require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        LlamaConfig.require(hiddenSize > 0, "hidden_size must be > 0, got " + hiddenSize);
        LlamaConfig.require(ffnDim > 0, "ffn_dim must be > 0, got " + ffnDim);
        LlamaConfig.require(numHiddenLayers > 0, "num_hidden_layers must be > 0, got " + numHiddenLayers);
        LlamaConfig.require(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                "num_attention_heads (" + numAttentionHeads + ") must divide hidden_size (" + hiddenSize + ")");
        LlamaConfig.require(maxPositionEmbeddings > 0,
                "max_position_embeddings must be > 0, got " + maxPositionEmbeddings);
    }

    /** Reads and validates an OPT config. */
    public static OptConfig fromJson(JsonNode c) {
        LlamaConfig.require(c != null && c.isObject(), "text config must be a JSON object");
        String modelType = c.path("model_type").asText("opt");
        LlamaConfig.require(modelType.equals("opt"), "model_type must be opt, got " + modelType);
        String act = c.path("activation_function").asText("relu");
        LlamaConfig.require(act.equals("relu"), "activation_function " + act + " is not supported (only relu)");
        int hidden = c.path("hidden_size").asInt(768);
        int projDim = c.path("word_embed_proj_dim").asInt(hidden);
        LlamaConfig.require(projDim == hidden, "word_embed_proj_dim " + projDim + " differs from hidden_size "
                + hidden + " (project_in/project_out are not supported)");
        LlamaConfig.require(c.path("layer_norm_elementwise_affine").asBoolean(true),
                "layer_norm_elementwise_affine false is not supported");
        return new OptConfig(
                c.path("vocab_size").asInt(50272),
                hidden,
                c.path("ffn_dim").asInt(3072),
                c.path("num_hidden_layers").asInt(12),
                c.path("num_attention_heads").asInt(12),
                c.path("max_position_embeddings").asInt(2048),
                c.path("do_layer_norm_before").asBoolean(true),
                c.path("_remove_final_layer_norm").asBoolean(false),
                c.path("enable_bias").asBoolean(true),
                c.path("tie_word_embeddings").asBoolean(true));
    }

    @Override
    public int numKeyValueHeads() {
        return numAttentionHeads;
    }

    @Override
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Whether the decoder ends with {@code final_layer_norm} (transformers' rule). */
    public boolean hasFinalLayerNorm() {
        return doLayerNormBefore && !removeFinalLayerNorm;
    }
}
