package dev.loupe.model.llm;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.QuantizationPlan;
import dev.loupe.model.onnx.Weight;
import java.util.Map;

/**
 * The LLaMA decoder through ONNX Runtime's fused CPU kernels, with a KV cache that is never copied per step:
 * {@code com.microsoft.GroupQueryAttention} (rotary embedding inside, from cos/sin tables stored in the graph) and
 * {@code SkipSimplifiedLayerNormalization} for every residual add followed by an RMSNorm. Each layer's cache is one
 * buffer [batch, kv_heads, capacity, head_dim] that the caller owns ({@link SharedKvCache}) and passes both as
 * {@code past_key_values.{i}.key|value} and as the pre-allocated {@code present.{i}.key|value} output: GroupQueryAttention
 * then writes only the new positions into it, in place. Rows are right-padded: row b's cached positions are columns
 * [0, len_b), and its new tokens go to [len_b, len_b + seq).
 * <p>Inputs: {@value LlamaGraphs#INPUTS_EMBEDS} float [batch, seq, hidden]; {@value #SEQLENS_K} int32 [batch] = each
 * row's length after this run minus one; {@value #TOTAL_SEQUENCE_LENGTH} int32 [1] = the longest row's length after
 * this run (equal to seq on a first prompt, whose rows start empty); {@value #LOGITS_POSITIONS} int64 [batch, k] =
 * which of this run's positions (0 .. seq-1) each row wants logits for; the cache buffers. Outputs:
 * {@value LlamaGraphs#LOGITS} [batch, k, vocab] and the cache buffers.
 * <p>ONNX Runtime's CPU kernel accepts a run of more than one token after a non-empty cache only for batch 1 (and a
 * first prompt only with every row starting empty), and needs head_dim a multiple of 16 for its rotary embedding
 * ({@link #supports}); the numbers are those of {@link LlamaGraphs} (float32 throughout) up to rounding.
 */
public final class FusedLlamaGraphs {
    public static final String SEQLENS_K = "seqlens_k";
    public static final String TOTAL_SEQUENCE_LENGTH = "total_sequence_length";
    public static final String LOGITS_POSITIONS = "logits_positions";

    private FusedLlamaGraphs() {}

    /** Whether ONNX Runtime's GroupQueryAttention CPU kernel with rotary embedding takes this model's heads. */
    public static boolean supports(DecoderConfig config) {
        return config instanceof LlamaConfig && config.headDim() % 16 == 0;
    }

    /**
     * How each layer multiplies by q, k and v: three MatMuls (packages converted before the packed layout), or
     * {@link #PACKED}.
     */
    public enum Projections {
        SEPARATE,
        /**
         * q, k and v in one MatMul whose output GroupQueryAttention takes packed (its key and value inputs omitted):
         * one wider GEMM per layer instead of three, the same values per output column (int8: each column keeps its
         * scale). gate and up stay two MatMuls: packed, they need a Split after them, as many nodes as they save,
         * and the packed output is extra activation memory at the prefill (+8 MiB peak RSS at batch 16).
         */
        PACKED
    }

    /** The fused decoder stack with LM head, projections {@link Projections#PACKED}; see the class comment. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, LlamaConfig config) {
        return decoder(ckpt, prefix, config, Projections.PACKED);
    }

    /** The fused decoder stack with LM head, with the given projection layout; see the class comment. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, LlamaConfig config,
                                       Projections projections) {
        if (!supports(config)) {
            throw new IllegalArgumentException("the fused decoder needs head_dim a multiple of 16, got "
                    + config.headDim());
        }
        GraphBuilder g = new GraphBuilder("llama_decoder_gqa");
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int headDim = config.headDim();
        String capacity = QuantizationPlan.GraphRole.PAST_DIM;
        String x = g.input(LlamaGraphs.INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", hidden);
        String seqlens = g.input(SEQLENS_K, DataType.INT32, "batch");
        String total = g.input(TOTAL_SEQUENCE_LENGTH, DataType.INT32, 1);
        String logitsPositions = g.input(LOGITS_POSITIONS, DataType.INT64, "batch", "logits_sequence");
        String[] pastK = new String[config.numHiddenLayers()];
        String[] pastV = new String[config.numHiddenLayers()];
        for (int i = 0; i < pastK.length; i++) {
            pastK[i] = g.input(LlamaGraphs.pastKey(i), DataType.FLOAT, "batch", kvHeads, capacity, headDim);
            pastV[i] = g.input(LlamaGraphs.pastValue(i), DataType.FLOAT, "batch", kvHeads, capacity, headDim);
        }
        float[][] tables = rotaryTables(config);
        long[] tableDims = {config.maxPositionEmbeddings(), headDim / 2};
        String cos = g.weight("rotary_cos", Weight.of(tables[0], tableDims));
        String sin = g.weight("rotary_sin", Weight.of(tables[1], tableDims));
        Map<String, Object> attention = Map.of("num_heads", (long) heads, "kv_num_heads", (long) kvHeads,
                "do_rotary", 1L, "rotary_interleaved", 0L);
        double eps = config.rmsNormEps();

        String h = LlamaGraphs.rmsNorm(g, x, g.weight("layers.0.input_layernorm",
                Weight.of(ckpt, prefix + "model.layers.0.input_layernorm.weight")), eps);
        String down = null;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = prefix + "model.layers." + i + ".";
            if (i > 0) { // the previous layer's MLP residual and this layer's input norm in one kernel
                String[] normed = skipNorm(g, x, down, g.weight("layers." + i + ".input_layernorm",
                        Weight.of(ckpt, p + "input_layernorm.weight")), eps);
                h = normed[0];
                x = normed[3];
            }
            String[] qkv = projections == Projections.PACKED
                    // q, k and v in one MatMul, handed to GroupQueryAttention packed (key and value inputs omitted)
                    ? new String[] {LlamaGraphs.packedProjection(g, ckpt, h, "layers." + i + ".qkv",
                            config.attentionBias(), p + "self_attn.q_proj", p + "self_attn.k_proj",
                            p + "self_attn.v_proj"), "", ""}
                    : new String[] {
                            LlamaGraphs.projection(g, ckpt, h, p + "self_attn.q_proj", "layers." + i + ".q",
                                    config.attentionBias()),
                            LlamaGraphs.projection(g, ckpt, h, p + "self_attn.k_proj", "layers." + i + ".k",
                                    config.attentionBias()),
                            LlamaGraphs.projection(g, ckpt, h, p + "self_attn.v_proj", "layers." + i + ".v",
                                    config.attentionBias())};
            String[] gqa = g.msOpNamed("GroupQueryAttention",
                    new String[] {null, LlamaGraphs.presentKey(i), LlamaGraphs.presentValue(i)}, attention,
                    qkv[0], qkv[1], qkv[2], pastK[i], pastV[i], seqlens, total, cos, sin);
            g.output(gqa[1], gqa[1], DataType.FLOAT, "batch", kvHeads, capacity, headDim);
            g.output(gqa[2], gqa[2], DataType.FLOAT, "batch", kvHeads, capacity, headDim);
            String attnOut = LlamaGraphs.projection(g, ckpt, gqa[0], p + "self_attn.o_proj", "layers." + i + ".o",
                    config.attentionBias());
            String[] normed = skipNorm(g, x, attnOut, g.weight("layers." + i + ".post_attention_layernorm",
                    Weight.of(ckpt, p + "post_attention_layernorm.weight")), eps);
            String h2 = normed[0];
            x = normed[3];
            String gate = LlamaGraphs.projection(g, ckpt, h2, p + "mlp.gate_proj", "layers." + i + ".gate",
                    config.mlpBias());
            String up = LlamaGraphs.projection(g, ckpt, h2, p + "mlp.up_proj", "layers." + i + ".up",
                    config.mlpBias());
            down = LlamaGraphs.projection(g, ckpt, g.mul(g.silu(gate), up), p + "mlp.down_proj",
                    "layers." + i + ".down", config.mlpBias());
        }
        // the last residual, then only the asked-for positions through the final norm and the LM head
        x = g.add(x, down);
        x = g.op("GatherND", Map.of("batch_dims", 1L), x, g.unsqueeze(logitsPositions, 2));
        x = LlamaGraphs.rmsNorm(g, x, g.weight("norm", Weight.of(ckpt, prefix + "model.norm.weight")), eps);
        Weight head = config.tieWordEmbeddings() ? LlamaGraphs.embedWeight(ckpt, prefix, config)
                : LlamaGraphs.checked(ckpt, prefix + "lm_head.weight", config.vocabSize(), hidden);
        LlamaGraphs.outputLogits(g, x, head, LlamaGraphs.LogitsMode.SELECTABLE, config.vocabSize());
        return g;
    }

    /** (normed, mean, inv_std_var, x + skip): RMSNorm of the residual sum, and the sum. */
    private static String[] skipNorm(GraphBuilder g, String x, String skip, String weight, double eps) {
        return g.msOp("SkipSimplifiedLayerNormalization", 4, Map.of("epsilon", (float) eps), x, skip, weight);
    }

    /**
     * cos and sin of position * inverse frequency for every position the model takes, [max_positions, head_dim/2],
     * computed as {@link LlamaGraphs}' graph does (the product in float32).
     */
    static float[][] rotaryTables(LlamaConfig config) {
        float[] invFreq = config.ropeInverseFrequencies();
        int positions = config.maxPositionEmbeddings();
        int half = invFreq.length;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int pos = 0; pos < positions; pos++) {
            for (int j = 0; j < half; j++) {
                float angle = (float) pos * invFreq[j];
                cos[pos * half + j] = (float) Math.cos(angle);
                sin[pos * half + j] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }
}
