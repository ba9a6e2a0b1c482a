package dev.loupe.model.llm;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.EncoderOps;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.QuantizationPlan;
import dev.loupe.model.onnx.Weight;
import java.util.Map;

/**
 * The OPT decoder (BLIP-2's) through ONNX Runtime's fused CPU kernels, with the same inputs, outputs and in-place KV
 * cache as {@link FusedLlamaGraphs}, so {@link SharedBufferDecoder}, {@link ContinuousBatch} and the generators run
 * it unchanged: one {@code com.microsoft.GroupQueryAttention} per layer without rotary embedding (kv heads = heads;
 * its default scale 1/sqrt(head_dim) is OPT's query scaling) over the caller's shared-buffer cache
 * ({@link SharedKvCache}), and {@code com.microsoft.SkipLayerNormalization} for every residual add that a LayerNorm
 * follows, the projection's bias (out_proj, fc2) added inside it.
 * <p>OPT's learned positions are read inside the graph: a row's new tokens sit at positions past_b .. past_b + seq - 1
 * with past_b = max(0, seqlens_k[b] + 1 - seq) (its cached length; 0 on a first prompt, whose right-padded rows all
 * start empty), each looked up at row position + {@value OptConfig#POSITION_OFFSET} of {@code embed_positions}, as
 * transformers does from the cumulative attention mask. Pre-norm blocks (every OPT size but 350m) and post-norm
 * blocks both follow the config; numbers are those of {@link OptGraphs} (float32) up to rounding.
 */
public final class FusedOptGraphs {
    private FusedOptGraphs() {}

    /** The fused decoder stack with LM head; inputs and outputs as {@link FusedLlamaGraphs#decoder}. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, OptConfig config) {
        GraphBuilder g = new GraphBuilder("opt_decoder_gqa");
        EncoderOps ops = new EncoderOps(g, ckpt);
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int headDim = config.headDim();
        String capacity = QuantizationPlan.GraphRole.PAST_DIM;
        String d = prefix + "model.decoder.";
        String x = g.input(LlamaGraphs.INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", hidden);
        String seqlens = g.input(FusedLlamaGraphs.SEQLENS_K, DataType.INT32, "batch");
        String total = g.input(FusedLlamaGraphs.TOTAL_SEQUENCE_LENGTH, DataType.INT32, 1);
        String logitsPositions = g.input(FusedLlamaGraphs.LOGITS_POSITIONS, DataType.INT64, "batch",
                "logits_sequence");
        String[] pastK = new String[config.numHiddenLayers()];
        String[] pastV = new String[config.numHiddenLayers()];
        for (int i = 0; i < pastK.length; i++) {
            pastK[i] = g.input(LlamaGraphs.pastKey(i), DataType.FLOAT, "batch", heads, capacity, headDim);
            pastV[i] = g.input(LlamaGraphs.pastValue(i), DataType.FLOAT, "batch", heads, capacity, headDim);
        }

        String table = g.weight("embed_positions", LlamaGraphs.checked(ckpt, d + "embed_positions.weight",
                config.maxPositionEmbeddings() + OptConfig.POSITION_OFFSET, hidden));
        x = g.add(x, g.gather(table, positions(g, x, seqlens), 0));

        Map<String, Object> attention = Map.of("num_heads", (long) heads, "kv_num_heads", (long) heads);
        double eps = OptConfig.LAYER_NORM_EPS;
        boolean bias = config.enableBias();
        boolean preNorm = config.doLayerNormBefore();
        int layers = config.numHiddenLayers();
        // h: the input of the next attention block; x: the residual stream
        String h = preNorm ? ops.layerNorm(x, d + "layers.0.self_attn_layer_norm", eps) : x;
        for (int i = 0; i < layers; i++) {
            String p = d + "layers." + i + ".";
            String n = "layers." + i + ".";
            String q = LlamaGraphs.projection(g, ckpt, h, p + "self_attn.q_proj", n + "q", bias);
            String k = LlamaGraphs.projection(g, ckpt, h, p + "self_attn.k_proj", n + "k", bias);
            String v = LlamaGraphs.projection(g, ckpt, h, p + "self_attn.v_proj", n + "v", bias);
            String[] gqa = g.msOpNamed("GroupQueryAttention",
                    new String[] {null, LlamaGraphs.presentKey(i), LlamaGraphs.presentValue(i)}, attention,
                    q, k, v, pastK[i], pastV[i], seqlens, total);
            g.output(gqa[1], gqa[1], DataType.FLOAT, "batch", heads, capacity, headDim);
            g.output(gqa[2], gqa[2], DataType.FLOAT, "batch", heads, capacity, headDim);
            String attnOut = ops.matMul(gqa[0], p + "self_attn.out_proj");
            String attnBias = bias ? ops.bias(p + "self_attn.out_proj") : null;
            String[] normed = ops.skipLayerNorm(x, attnOut, attnBias,
                    p + (preNorm ? "final_layer_norm" : "self_attn_layer_norm"), eps);
            // pre-norm: the feed-forward block reads the normed sum, the residual is the sum;
            // post-norm: the normed sum is both
            x = preNorm ? normed[1] : normed[0];
            String ffnIn = normed[0];
            String ffn = g.op("Relu", LlamaGraphs.projection(g, ckpt, ffnIn, p + "fc1", n + "fc1", bias));
            String ffnOut = ops.matMul(ffn, p + "fc2");
            String ffnBias = bias ? ops.bias(p + "fc2") : null;
            if (preNorm && i + 1 < layers) { // this residual and the next layer's attention norm in one kernel
                normed = ops.skipLayerNorm(x, ffnOut, ffnBias, d + "layers." + (i + 1) + ".self_attn_layer_norm", eps);
                h = normed[0];
                x = normed[1];
            } else if (preNorm) { // the last residual; the final norm runs on the asked-for positions only
                x = g.add(x, ffnBias == null ? ffnOut : g.add(ffnOut, ffnBias));
            } else {
                x = ops.skipLayerNorm(x, ffnOut, ffnBias, p + "final_layer_norm", eps)[0];
                h = x;
            }
        }
        x = g.op("GatherND", Map.of("batch_dims", 1L), x, g.unsqueeze(logitsPositions, 2));
        if (config.hasFinalLayerNorm()) {
            x = ops.layerNorm(x, d + "final_layer_norm", eps);
        }
        Weight head = config.tieWordEmbeddings()
                ? LlamaGraphs.checked(ckpt, prefix + "model.decoder.embed_tokens.weight", config.vocabSize(), hidden)
                : LlamaGraphs.checked(ckpt, prefix + "lm_head.weight", config.vocabSize(), hidden);
        LlamaGraphs.outputLogits(g, x, head, LlamaGraphs.LogitsMode.SELECTABLE, config.vocabSize());
        return g;
    }

    /**
     * Each new token's position, [batch, seq] int64: past_b + t with past_b = max(0, seqlens_k[b] + 1 - seq),
     * offset by {@value OptConfig#POSITION_OFFSET} into OPT's position table.
     */
    private static String positions(GraphBuilder g, String x, String seqlens) {
        String seq = g.op("Shape", Map.of("start", 1L, "end", 2L), x); // [1] int64
        String lengths = g.add(g.cast(seqlens, DataType.INT64), g.scalarLong(1));
        String past = g.op("Max", g.sub(lengths, seq), g.scalarLong(0));
        String steps = g.op("Range", g.scalarLong(0), g.squeeze(seq, 0), g.scalarLong(1));
        return g.add(g.add(g.unsqueeze(past, 1), g.unsqueeze(steps, 0)), g.scalarLong(OptConfig.POSITION_OFFSET));
    }
}
