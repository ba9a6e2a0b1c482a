package dev.loupe.model.llm;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * The shape of a LLaMA/Vicuna decoder, read from a Hugging Face {@code config.json} (the whole file of a
 * {@code LlamaForCausalLM}, or InstructBLIP's {@code text_config}). Validated on construction, so graph building
 * and generation never meet an inconsistent model. Defaults follow transformers' {@code LlamaConfig}.
 *
 * @param headDim           per-head width ({@code head_dim}, default hidden / heads)
 * @param ropeScaling       how positions are scaled before the rotary embedding ({@link RopeScaling#NONE} if absent)
 * @param tieWordEmbeddings whether the output head reuses the token embedding matrix
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        boolean tieWordEmbeddings) implements DecoderConfig {

    public LlamaConfig {
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(hiddenSize > 0, "hidden_size must be > 0, got " + hiddenSize);
        require(intermediateSize > 0, "intermediate_size must be > 0, got " + intermediateSize);
        require(numHiddenLayers > 0, "num_hidden_layers must be > 0, got " + numHiddenLayers);
        require(numAttentionHeads > 0, "num_attention_heads must be > 0, got " + numAttentionHeads);
        require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0,
                "num_key_value_heads (" + numKeyValueHeads + ") must divide num_attention_heads ("
                        + numAttentionHeads + ")");
        require(headDim > 0 && headDim % 2 == 0, "head_dim must be a positive even number, got " + headDim);
        require(rmsNormEps > 0, "rms_norm_eps must be > 0, got " + rmsNormEps);
        require(ropeTheta > 0, "rope_theta must be > 0, got " + ropeTheta);
        require(ropeScaling != null, "ropeScaling must not be null (use RopeScaling.NONE)");
        require(maxPositionEmbeddings > 0, "max_position_embeddings must be > 0, got " + maxPositionEmbeddings);
    }

    /** Reads and validates a LLaMA config; rejects settings this runtime would silently get wrong. */
    public static LlamaConfig fromJson(JsonNode c) {
        require(c != null && c.isObject(), "text config must be a JSON object");
        String modelType = c.path("model_type").asText("llama");
        require(modelType.equals("llama"), "model_type must be llama, got " + modelType);
        String act = c.path("hidden_act").asText("silu");
        require(act.equals("silu"), "hidden_act must be silu, got " + act);
        int pretrainingTp = c.path("pretraining_tp").asInt(1);
        require(pretrainingTp >= 1, "pretraining_tp must be >= 1, got " + pretrainingTp);
        double partialRotary = c.path("partial_rotary_factor").asDouble(1.0);
        require(partialRotary == 1.0, "partial_rotary_factor " + partialRotary + " is not supported (only 1.0)");

        int hidden = requiredInt(c, "hidden_size");
        int heads = requiredInt(c, "num_attention_heads");
        int kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        int headDim;
        if (c.hasNonNull("head_dim")) {
            headDim = c.get("head_dim").asInt();
        } else {
            require(hidden % heads == 0, "hidden_size (" + hidden + ") must be divisible by num_attention_heads ("
                    + heads + ") when head_dim is absent");
            headDim = hidden / heads;
        }
        int maxPos = c.path("max_position_embeddings").asInt(2048);
        return new LlamaConfig(
                requiredInt(c, "vocab_size"),
                hidden,
                requiredInt(c, "intermediate_size"),
                requiredInt(c, "num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                c.path("rms_norm_eps").asDouble(1e-6),
                c.path("rope_theta").asDouble(10000.0),
                RopeScaling.fromJson(c.get("rope_scaling"), maxPos),
                maxPos,
                c.path("attention_bias").asBoolean(false),
                c.path("mlp_bias").asBoolean(false),
                c.path("tie_word_embeddings").asBoolean(false));
    }

    /** Query heads sharing one key/value head (1 without grouped-query attention). */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /**
     * The rotary inverse frequencies, float32 like transformers computes them:
     * {@code 1 / theta^(2i/headDim)}, then adjusted by {@link #ropeScaling()}.
     */
    public float[] ropeInverseFrequencies() {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = 1f / (float) Math.pow(ropeTheta, exponent);
        }
        return ropeScaling.apply(inv);
    }

    private static int requiredInt(JsonNode c, String field) {
        JsonNode n = c.get(field);
        require(n != null && n.canConvertToInt(), "text config needs integer " + field);
        return n.asInt();
    }

    static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * Rotary position scaling ({@code rope_scaling}). Supported: none/"default", "linear" (positions divided by
     * factor) and "llama3" (frequency-dependent scaling); any other type is rejected rather than ignored.
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
        public static final RopeScaling NONE = new RopeScaling("default", 1.0, 0, 0, 0);

        public RopeScaling {
            require(type.equals("default") || type.equals("linear") || type.equals("llama3"),
                    "rope_scaling type " + type + " is not supported (default, linear, llama3)");
            require(factor > 0, "rope_scaling factor must be > 0, got " + factor);
            if (type.equals("llama3")) {
                require(lowFreqFactor > 0 && highFreqFactor > lowFreqFactor,
                        "llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor");
                require(originalMaxPositionEmbeddings > 0,
                        "llama3 rope_scaling needs original_max_position_embeddings > 0");
            }
        }

        static RopeScaling fromJson(JsonNode n, int maxPositionEmbeddings) {
            if (n == null || n.isNull()) {
                return NONE;
            }
            require(n.isObject(), "rope_scaling must be an object or null");
            String type = n.hasNonNull("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("");
            type = type.toLowerCase(Locale.ROOT);
            require(!type.isEmpty(), "rope_scaling has no rope_type/type");
            if (type.equals("default")) {
                return NONE;
            }
            require(n.hasNonNull("factor"), "rope_scaling " + type + " needs a factor");
            double factor = n.get("factor").asDouble();
            return new RopeScaling(type, factor,
                    n.path("low_freq_factor").asDouble(0),
                    n.path("high_freq_factor").asDouble(0),
                    n.path("original_max_position_embeddings").asInt(maxPositionEmbeddings));
        }

        /** Adjusts float32 inverse frequencies as transformers' rope init functions do. */
        float[] apply(float[] inv) {
            float[] out = inv.clone();
            switch (type) {
                case "linear" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = (float) (out[i] / factor);
                    }
                }
                case "llama3" -> {
                    double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                    double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                    for (int i = 0; i < out.length; i++) {
                        double wavelen = 2 * Math.PI / inv[i];
                        double scaled = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
                        boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                        if (medium) {
                            double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                    / (highFreqFactor - lowFreqFactor);
                            scaled = (1 - smooth) * scaled / factor + smooth * scaled;
                        }
                        out[i] = (float) scaled;
                    }
                }
                default -> {
                    // "default": unscaled
                }
            }
            return out;
        }
    }
}
