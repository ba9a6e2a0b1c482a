package dev.loupe.model.llm;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.Map;

/**
 * Builds the LLaMA language model as two ONNX graphs from Hugging Face weights, mirroring transformers'
 * {@code modeling_llama.py} (eager attention, float32):
 * <ul>
 *   <li>{@link #tokenEmbedding}: {@value #INPUT_IDS} int64 [batch, seq] → {@value #INPUTS_EMBEDS} [batch, seq, hidden],
 *       so callers can splice image embeddings in front of prompt embeddings;</li>
 *   <li>{@link #decoder}: {@value #INPUTS_EMBEDS} [batch, seq, hidden], {@value #ATTENTION_MASK} int64
 *       [batch, past+seq], {@value #POSITION_IDS} int64 [batch, seq], {@code past_key_values.{i}.key|value}
 *       [batch, kv_heads, past, head_dim] → {@value #LOGITS} and {@code present.{i}.key|value}
 *       [batch, kv_heads, past+seq, head_dim]; with {@link LogitsMode#SELECTABLE} also {@value #LOGITS_TO_KEEP}
 *       int64 [1].</li>
 * </ul>
 * The decoder combines the causal mask with the padding mask and replaces disallowed scores by the lowest float
 * (as transformers does), so fully masked query rows of left padding give a uniform softmax instead of NaN.
 * Plain ONNX operators only (ONNX Runtime fuses the RMSNorm pattern written here into SimplifiedLayerNormalization
 * and x*sigmoid(x) into QuickGelu by itself); the present tensors are produced directly by Concat (no Identity copy
 * of the cache), which still copies the whole cache every step. {@link FusedLlamaGraphs} is the fused alternative
 * that packages get by default ({@link DecoderGraphKind}); this graph stays for OPT-like use, heads the fused kernel
 * does not take, and packages written before.
 */
public final class LlamaGraphs {
    public static final String INPUT_IDS = "input_ids";
    public static final String INPUTS_EMBEDS = "inputs_embeds";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    public static final String LOGITS = "logits";
    public static final String LOGITS_TO_KEEP = "logits_to_keep";

    /** Which positions the decoder graph computes logits for. */
    public enum LogitsMode {
        /** Only the last position: {@code logits} [batch, 1, vocab]. Fastest for generation (left padding puts
         * every row's newest token last). */
        LAST_POSITION,
        /** Every position: {@code logits} [batch, seq, vocab], for scoring candidate continuations. */
        ALL_POSITIONS,
        /**
         * One graph for both: an extra input {@value #LOGITS_TO_KEEP} int64 [1] asks for the last k positions'
         * logits, 0 meaning all (transformers' {@code logits_to_keep}); {@code logits} [batch, k or seq, vocab].
         * Computing the head at every prompt position costs about 1/layers of a prefill more, so this is the mode
         * to write when one package serves both generation and ranking.
         */
        SELECTABLE
    }

    /** Lowest float32: what transformers puts in masked attention scores. */
    static final float MASKED_SCORE = -Float.MAX_VALUE;

    private LlamaGraphs() {}

    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /**
     * The token embedding lookup. {@code prefix} is where the LLaMA weights live in the checkpoint, e.g.
     * {@code "language_model."} for InstructBLIP, {@code ""} for a bare {@code LlamaForCausalLM}.
     */
    public static GraphBuilder tokenEmbedding(SafetensorsCheckpoint ckpt, String prefix, LlamaConfig config) {
        GraphBuilder g = new GraphBuilder("llama_token_embedding");
        String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "sequence");
        String table = g.weight("embed_tokens", embedWeight(ckpt, prefix, config));
        g.output(g.gather(table, ids, 0), INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", config.hiddenSize());
        return g;
    }

    /** The decoder stack with KV cache and LM head; see the class comment for inputs and outputs. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, LlamaConfig config,
                                       LogitsMode mode) {
        GraphBuilder g = new GraphBuilder("llama_decoder");
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int headDim = config.headDim();
        String x = g.input(INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", hidden);
        String mask = g.input(ATTENTION_MASK, DataType.INT64, "batch", "total_sequence");
        String positions = g.input(POSITION_IDS, DataType.INT64, "batch", "sequence");
        String[] pastK = new String[config.numHiddenLayers()];
        String[] pastV = new String[config.numHiddenLayers()];
        for (int i = 0; i < pastK.length; i++) {
            pastK[i] = g.input(pastKey(i), DataType.FLOAT, "batch", kvHeads, "past_sequence", headDim);
            pastV[i] = g.input(pastValue(i), DataType.FLOAT, "batch", kvHeads, "past_sequence", headDim);
        }

        // Rotary tables: freqs = position * inv_freq (float32), emb = [freqs, freqs]; cos/sin as [b, 1, s, d].
        String invFreq = g.constFloats(new long[] {headDim / 2}, config.ropeInverseFrequencies());
        String freqs = g.mul(g.unsqueeze(g.cast(positions, DataType.FLOAT), 2), invFreq);
        String emb = g.concat(-1, freqs, freqs);
        String cos = g.unsqueeze(g.op("Cos", emb), 1);
        String sin = g.unsqueeze(g.op("Sin", emb), 1);

        String allowed = allowedKeys(g, x, mask);
        String masked = g.scalar(MASKED_SCORE);
        String scale = g.scalar((float) (1.0 / Math.sqrt(headDim)));

        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = prefix + "model.layers." + i + ".";
            String h = rmsNorm(g, x, g.weight("layers." + i + ".input_layernorm",
                    Weight.of(ckpt, p + "input_layernorm.weight")), config.rmsNormEps());
            String q = heads(g, projection(g, ckpt, h, p + "self_attn.q_proj", "layers." + i + ".q",
                    config.attentionBias()), heads, headDim);
            String k = heads(g, projection(g, ckpt, h, p + "self_attn.k_proj", "layers." + i + ".k",
                    config.attentionBias()), kvHeads, headDim);
            String v = heads(g, projection(g, ckpt, h, p + "self_attn.v_proj", "layers." + i + ".v",
                    config.attentionBias()), kvHeads, headDim);
            q = rotary(g, q, cos, sin, headDim);
            k = rotary(g, k, cos, sin, headDim);
            // Concat writes the present tensors directly (an output Identity would copy the whole cache).
            String keys = g.opAs(presentKey(i), "Concat", Map.of("axis", 2L), pastK[i], k);
            String values = g.opAs(presentValue(i), "Concat", Map.of("axis", 2L), pastV[i], v);
            g.output(keys, keys, DataType.FLOAT, "batch", kvHeads, "total_sequence", headDim);
            g.output(values, values, DataType.FLOAT, "batch", kvHeads, "total_sequence", headDim);
            String keysAll = repeatKv(g, keys, config.groupSize(), heads, headDim);
            String valuesAll = repeatKv(g, values, config.groupSize(), heads, headDim);

            String scores = g.mul(g.matMul(q, g.transpose(keysAll, 0, 1, 3, 2)), scale);
            scores = g.op("Where", allowed, scores, masked);
            String probs = g.softmax(scores, -1);
            String context = g.reshape(g.transpose(g.matMul(probs, valuesAll), 0, 2, 1, 3), 0, 0,
                    (long) heads * headDim);
            String attnOut = projection(g, ckpt, context, p + "self_attn.o_proj", "layers." + i + ".o",
                    config.attentionBias());
            x = g.add(x, attnOut);

            String h2 = rmsNorm(g, x, g.weight("layers." + i + ".post_attention_layernorm",
                    Weight.of(ckpt, p + "post_attention_layernorm.weight")), config.rmsNormEps());
            String gate = projection(g, ckpt, h2, p + "mlp.gate_proj", "layers." + i + ".gate", config.mlpBias());
            String up = projection(g, ckpt, h2, p + "mlp.up_proj", "layers." + i + ".up", config.mlpBias());
            String down = projection(g, ckpt, g.mul(g.silu(gate), up), p + "mlp.down_proj",
                    "layers." + i + ".down", config.mlpBias());
            x = g.add(x, down);
        }
        x = keptPositions(g, x, mode);
        x = rmsNorm(g, x, g.weight("norm", Weight.of(ckpt, prefix + "model.norm.weight")), config.rmsNormEps());
        Weight head = config.tieWordEmbeddings() ? embedWeight(ckpt, prefix, config)
                : checked(ckpt, prefix + "lm_head.weight", config.vocabSize(), hidden);
        outputLogits(g, x, head, mode, config.vocabSize());
        return g;
    }

    /** allowed[b, 1, q, k] = key k <= past + q (causal) and attention_mask[b, k] == 1 (padding). */
    static String allowedKeys(GraphBuilder g, String x, String mask) {
        String seqLen = g.squeeze(g.op("Shape", Map.of("start", 1L, "end", 2L), x), 0);
        String totalLen = g.squeeze(g.op("Shape", Map.of("start", 1L, "end", 2L), mask), 0);
        String pastLen = g.sub(totalLen, seqLen);
        String one = g.scalarLong(1);
        String queryPos = g.op("Range", pastLen, totalLen, one);
        String keyPos = g.op("Range", g.scalarLong(0), totalLen, one);
        String causal = g.op("LessOrEqual", g.unsqueeze(keyPos, 0), g.unsqueeze(queryPos, 1));
        String notPadding = g.unsqueeze(g.cast(mask, DataType.BOOL), 1, 2);
        return g.op("And", causal, notPadding);
    }

    /** The hidden states whose logits {@code mode} asks for (adds the {@value #LOGITS_TO_KEEP} input if selectable). */
    static String keptPositions(GraphBuilder g, String x, LogitsMode mode) {
        if (mode == LogitsMode.LAST_POSITION) {
            return g.slice(x, new long[] {-1}, new long[] {Long.MAX_VALUE}, new long[] {1});
        } else if (mode == LogitsMode.SELECTABLE) {
            String keep = g.input(LOGITS_TO_KEEP, DataType.INT64, 1);
            return g.op("Slice", x, g.op("Neg", keep), g.constLongs(Long.MAX_VALUE), g.constLongs(1));
        }
        return x;
    }

    /** The LM head (x @ head^T, no bias) as the {@value #LOGITS} output. */
    static void outputLogits(GraphBuilder g, String x, Weight head, LogitsMode mode, int vocab) {
        String logits = g.opAs(LOGITS, "MatMul", Map.of(), x, g.weight("lm_head", head.transposed()));
        Object positionsDim = switch (mode) {
            case LAST_POSITION -> 1;
            case ALL_POSITIONS -> "sequence";
            case SELECTABLE -> "logits_sequence";
        };
        g.output(logits, LOGITS, DataType.FLOAT, "batch", positionsDim, vocab);
        TokenChoiceHead.append(g, logits, positionsDim);
    }

    static Weight embedWeight(SafetensorsCheckpoint ckpt, String prefix, LlamaConfig config) {
        return checked(ckpt, prefix + "model.embed_tokens.weight", config.vocabSize(), config.hiddenSize());
    }

    static Weight checked(SafetensorsCheckpoint ckpt, String name, long... dims) {
        if (!ckpt.has(name)) {
            throw new IllegalArgumentException("checkpoint has no tensor " + name);
        }
        long[] shape = ckpt.info(name).shape();
        if (!java.util.Arrays.equals(shape, dims)) {
            throw new IllegalArgumentException(name + " has shape " + java.util.Arrays.toString(shape)
                    + ", config expects " + java.util.Arrays.toString(dims));
        }
        return Weight.of(ckpt, name);
    }

    /** RMSNorm in float32: weight * x * 1/sqrt(mean(x^2) + eps). */
    static String rmsNorm(GraphBuilder g, String x, String weight, double eps) {
        String variance = g.op("ReduceMean", Map.of("keepdims", 1L), g.op("Pow", x, g.scalar(2f)),
                g.constLongs(-1));
        String normed = g.div(x, g.op("Sqrt", g.add(variance, g.scalar((float) eps))));
        return g.mul(weight, normed);
    }

    /** x @ W^T (+ b) for a torch Linear stored as {@code name.weight} [out, in]. */
    static String projection(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String name,
                                     String graphName, boolean bias) {
        String w = g.weight(graphName + ".weight", Weight.of(ckpt, name + ".weight").transposed());
        String b = bias ? g.weight(graphName + ".bias", Weight.of(ckpt, name + ".bias")) : null;
        return g.linear(x, w, b);
    }

    /**
     * x @ [W_1 | W_2 | ...]^T (+ [b_1 | b_2 | ...]) for torch Linears {@code names[i].weight} [out_i, in] on the same
     * input: one MatMul whose output columns are the projections' side by side. Each output column is the dot product
     * of the same row and weight column as in {@link #projection}, and a quantized package quantizes the input once
     * and each column with its own scale, so the values are those of the separate projections.
     */
    static String packedProjection(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String graphName,
                                   boolean bias, String... names) {
        Weight[] weights = new Weight[names.length];
        Weight[] biases = new Weight[names.length];
        for (int i = 0; i < names.length; i++) {
            weights[i] = Weight.of(ckpt, names[i] + ".weight");
            biases[i] = bias ? Weight.of(ckpt, names[i] + ".bias") : null;
        }
        String w = g.weight(graphName + ".weight", Weight.stacked(weights).transposed());
        String b = bias ? g.weight(graphName + ".bias", Weight.stacked(biases)) : null;
        return g.linear(x, w, b);
    }

    /** [b, s, n*d] → [b, n, s, d]. */
    static String heads(GraphBuilder g, String x, int n, int headDim) {
        return g.transpose(g.reshape(x, 0, 0, n, headDim), 0, 2, 1, 3);
    }

    /** q * cos + rotate_half(q) * sin, with rotate_half(x) = [-x2, x1]. */
    private static String rotary(GraphBuilder g, String x, String cos, String sin, int headDim) {
        long half = headDim / 2;
        String x1 = g.slice(x, new long[] {0}, new long[] {half}, new long[] {3});
        String x2 = g.slice(x, new long[] {half}, new long[] {headDim}, new long[] {3});
        String rotated = g.concat(-1, g.op("Neg", x2), x1);
        return g.add(g.mul(x, cos), g.mul(rotated, sin));
    }

    /** [b, kv, t, d] → [b, kv * group, t, d], each kv head repeated {@code group} times (transformers' repeat_kv). */
    private static String repeatKv(GraphBuilder g, String x, int group, int heads, int headDim) {
        if (group == 1) {
            return x;
        }
        String expanded = g.op("Expand", g.unsqueeze(x, 2), g.constLongs(1, 1, group, 1, 1));
        return g.reshape(expanded, 0, heads, -1, headDim);
    }
}
