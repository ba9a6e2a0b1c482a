package dev.loupe.model.t5;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import java.util.Map;

/**
 * The T5 encoder and decoder of {@link T5Graphs} (same inputs and outputs, so {@link T5Runner} and
 * {@link T5StepDecoder} run either) on ONNX Runtime's fused CPU kernels, which its optimizer does not reach from T5's
 * op-by-op pattern by itself:
 * <ul>
 *   <li>T5's RMS LayerNorm is {@code SimplifiedLayerNormalization} where it opens a stack, and every residual add
 *       followed by it is one {@code com.microsoft.SkipSimplifiedLayerNormalization} (the sum is its fourth
 *       output);</li>
 *   <li>every attention is one {@code com.microsoft.MultiHeadAttention} with scale 1 (T5 does not scale scores): the
 *       relative position bias goes in as its {@code attention_bias} [1, heads, q, k] (computed once per run, shared
 *       by all layers as transformers shares it), the encoder's padding as an int32 key padding mask with
 *       {@code mask_filter_value} = float-min (what the plain graph puts in masked scores);</li>
 *   <li>the decoder's self-attention takes the cache as the kernel's {@code past_key}/{@code past_value} and returns
 *       {@code present.{i}.*} (the causal mask and the rows' left padding folded into the bias, [batch or 1, heads,
 *       q, k]: float-min above the diagonal and on padded columns); its cross-attention reads the keys/values that the
 *       encoder graph computed once per request, [batch, heads, enc_seq, d_kv], under the encoder's padding mask.</li>
 * </ul>
 * The cache is still concatenated per step (the kernel copies past into present, as the plain graph's Concat does):
 * ONNX Runtime's in-place shared-buffer cache is GroupQueryAttention's, which the LLaMA and OPT decoders use.
 * Flan-T5's tanh-approximated GELU (gelu_new) is {@code com.microsoft.FastGelu}, the same formula in one kernel.
 * Projections stay MatMuls by a weight, so int8 packages quantize them as before.
 */
public final class FusedT5Graphs {
    private FusedT5Graphs() {}

    /** The fused encoder stack plus the decoder's cross-attention keys and values; as {@link T5Graphs#encoder}. */
    public static GraphBuilder encoder(SafetensorsCheckpoint ckpt, String prefix, T5Config config) {
        GraphBuilder g = new GraphBuilder("t5_encoder_fused");
        int d = config.dModel();
        String x = g.input(T5Graphs.INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", d);
        String mask = g.input(T5Graphs.ATTENTION_MASK, DataType.INT64, "batch", "sequence");
        String keyPadding = g.cast(mask, DataType.INT32);
        String bias = T5Graphs.encoderPositionBias(g, ckpt, prefix, config, x);

        int layers = config.numLayers();
        String h = norm(g, ckpt, x, prefix + "encoder.block.0.layer.0.layer_norm.weight", "encoder.0.ln0", config);
        for (int i = 0; i < layers; i++) {
            String p = prefix + "encoder.block." + i + ".";
            String n = "encoder." + i + ".";
            String context = attention(g, ckpt, h, p + "layer.0.SelfAttention", n, keyPadding, bias, config);
            String[] normed = skipNorm(g, ckpt, x, context, p + "layer.1.layer_norm.weight", n + "ln1", config);
            x = normed[1];
            normed = feedForwardThenNextNorm(g, ckpt, prefix, "encoder", i, layers, x, normed[0], config);
            h = normed[0];
            x = normed[1];
        }
        g.output(h, T5Graphs.ENCODER_HIDDEN_STATES, DataType.FLOAT, "batch", "sequence", d);
        T5Graphs.outputCrossKeysAndValues(g, ckpt, prefix, config, h);
        return g;
    }

    /** The fused decoder stack with self-attention cache and LM head; as {@link T5Graphs#decoder}. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, T5Config config) {
        GraphBuilder g = new GraphBuilder("t5_decoder_fused");
        int d = config.dModel();
        int heads = config.numHeads();
        int dKv = config.dKv();
        T5Graphs.DecoderInputs inputs = T5Graphs.DecoderInputs.declare(g, config);
        int layers = config.numDecoderLayers();
        String[] pastK = inputs.pastK();
        String ids = inputs.ids();
        String shared = g.weight("shared", T5Graphs.checked(ckpt, prefix + "shared.weight", config.vocabSize(), d));
        String x = g.gather(shared, ids, 0);
        String[] biasAndCausal = T5Graphs.decoderPositionBias(g, ckpt, prefix, config, ids, pastK[0]);
        // the causal and padding masks as part of the additive bias [batch or 1, heads, q, k]: float-min where a key
        // is in a query's future or is a row's padding
        String allowed = g.op("And", biasAndCausal[1], inputs.selfAllowed(g));
        String selfBias = g.op("Where", allowed, biasAndCausal[0], g.scalar(T5Graphs.MASKED_SCORE));
        String encoderPadding = g.cast(inputs.encoderMask(), DataType.INT32);

        String h = norm(g, ckpt, x, prefix + "decoder.block.0.layer.0.layer_norm.weight", "decoder.0.ln0", config);
        for (int i = 0; i < layers; i++) {
            String p = prefix + "decoder.block." + i + ".";
            String n = "decoder." + i + ".";
            String q = T5Graphs.linear(g, ckpt, h, p + "layer.0.SelfAttention.q", n + "q");
            String k = T5Graphs.linear(g, ckpt, h, p + "layer.0.SelfAttention.k", n + "k");
            String v = T5Graphs.linear(g, ckpt, h, p + "layer.0.SelfAttention.v", n + "v");
            String[] self = g.msOpNamed("MultiHeadAttention",
                    new String[] {null, T5Graphs.presentKey(i), T5Graphs.presentValue(i)}, attributes(config),
                    q, k, v, "", "", selfBias, pastK[i], inputs.pastV()[i]);
            g.output(self[1], self[1], DataType.FLOAT, "batch", heads, "total_sequence", dKv);
            g.output(self[2], self[2], DataType.FLOAT, "batch", heads, "total_sequence", dKv);
            String selfOut = T5Graphs.linear(g, ckpt, self[0], p + "layer.0.SelfAttention.o", n + "o");
            String[] normed = skipNorm(g, ckpt, x, selfOut, p + "layer.1.layer_norm.weight", n + "ln1", config);
            x = normed[1];

            String cq = T5Graphs.linear(g, ckpt, normed[0], p + "layer.1.EncDecAttention.q", n + "cross_q");
            String cross = g.msOp("MultiHeadAttention", 1, attributes(config), cq, inputs.crossK()[i],
                    inputs.crossV()[i], "", encoderPadding)[0];
            String crossOut = T5Graphs.linear(g, ckpt, cross, p + "layer.1.EncDecAttention.o", n + "cross_o");
            normed = skipNorm(g, ckpt, x, crossOut, p + "layer.2.layer_norm.weight", n + "ln2", config);
            x = normed[1];

            normed = feedForwardThenNextNorm(g, ckpt, prefix, "decoder", i, layers, x, normed[0], config);
            h = normed[0];
            x = normed[1];
        }
        T5Graphs.outputLogits(g, ckpt, prefix, config, h);
        return g;
    }

    /**
     * Block {@code i}'s feed-forward sub-layer of the {@code stack} ("encoder" or "decoder") on its normed input, its
     * residual add and the norm that follows (the next block's first norm, or the stack's final norm) in one kernel:
     * {normed, residual sum}.
     */
    private static String[] feedForwardThenNextNorm(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix,
                                                    String stack, int i, int layers, String x, String normedInput,
                                                    T5Config config) {
        int ffLayer = stack.equals("encoder") ? 1 : 2;
        String ff = T5Graphs.feedForward(g, ckpt, normedInput,
                prefix + stack + ".block." + i + ".layer." + ffLayer + ".DenseReluDense", stack + "." + i + ".ff",
                config, true);
        boolean last = i + 1 == layers;
        String next = last ? prefix + stack + ".final_layer_norm.weight"
                : prefix + stack + ".block." + (i + 1) + ".layer.0.layer_norm.weight";
        return skipNorm(g, ckpt, x, ff, next, last ? stack + ".final_norm" : stack + "." + (i + 1) + ".ln0", config);
    }

    /** Self-attention of a block on the normed input h through MultiHeadAttention, then its output projection. */
    private static String attention(GraphBuilder g, SafetensorsCheckpoint ckpt, String h, String p, String n,
                                    String keyPadding, String bias, T5Config config) {
        String q = T5Graphs.linear(g, ckpt, h, p + ".q", n + "q");
        String k = T5Graphs.linear(g, ckpt, h, p + ".k", n + "k");
        String v = T5Graphs.linear(g, ckpt, h, p + ".v", n + "v");
        String context = g.msOp("MultiHeadAttention", 1, attributes(config), q, k, v, "", keyPadding, bias)[0];
        return T5Graphs.linear(g, ckpt, context, p + ".o", n + "o");
    }

    /** num_heads, scale 1 (T5 does not scale its scores), masked keys at float-min. */
    private static Map<String, Object> attributes(T5Config config) {
        return Map.of("num_heads", (long) config.numHeads(), "scale", 1.0f,
                "mask_filter_value", T5Graphs.MASKED_SCORE);
    }

    /** T5's LayerNorm (RMS, no bias) as ONNX Runtime's SimplifiedLayerNormalization. */
    private static String norm(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String weightName,
                               String graphName, T5Config config) {
        String w = g.weight(graphName, T5Graphs.checked(ckpt, weightName, config.dModel()));
        return g.op("SimplifiedLayerNormalization", Map.of("epsilon", (float) config.layerNormEpsilon(),
                "axis", -1L), x, w);
    }

    /** {RMSNorm(x + skip), x + skip} in one SkipSimplifiedLayerNormalization. */
    private static String[] skipNorm(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String skip,
                                     String weightName, String graphName, T5Config config) {
        String w = g.weight(graphName, T5Graphs.checked(ckpt, weightName, config.dModel()));
        String[] out = g.msOp("SkipSimplifiedLayerNormalization", 4,
                Map.of("epsilon", (float) config.layerNormEpsilon()), x, skip, w);
        return new String[] {out[0], out[3]};
    }
}
