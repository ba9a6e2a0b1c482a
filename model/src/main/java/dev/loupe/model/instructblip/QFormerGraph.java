package dev.loupe.model.instructblip;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.Activation;
import dev.loupe.model.layers.EncoderOps;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.Arrays;
import java.util.Map;

/**
 * The InstructBLIP Q-Former plus the language projection as an ONNX graph. Learned query tokens are prepended to
 * the instruction's word+position embeddings; post-LN BERT layers run self-attention over queries and text, cross-
 * attention from the queries to the image on every {@code cross_attention_frequency}-th layer, and separate feed-
 * forward blocks for queries and text. The query outputs are projected to the language model's width.
 *
 * <p>The instruction text must be RIGHT-padded: position ids are 0..T-1 for every row, so a row's valid tokens get
 * the same positions whatever its padding, and padded keys are masked with an additive float-min bias (queries are
 * always attended, so no softmax row is fully masked). A row's outputs therefore do not depend on its batch.
 *
 * <p>By default attention runs on ONNX Runtime's fused {@code com.microsoft.MultiHeadAttention} (projection biases
 * folded in; text padding as an int32 key padding mask) and every residual Add + output bias + LayerNorm is one
 * {@code SkipLayerNormalization} ({@link EncoderOps}); ONNX Runtime fuses neither by itself here. The plain-op graph
 * ({@code fused} false) is kept as the reference.
 *
 * <p>BLIP-2's Q-Former ({@link InstructBlipConfig#qformerTextInput()} false) has no text input: the graph then takes
 * only {@value #IMAGE_EMBEDS}, and every layer runs on the queries alone.
 *
 * <p>Inputs {@value #IMAGE_EMBEDS} float [batch, N, vision_hidden], {@value #INPUT_IDS} int64 [batch, T],
 * {@value #ATTENTION_MASK} int64 [batch, T] (1 = token, 0 = padding). Outputs {@value #QUERY_OUTPUT} float
 * [batch, K, qformer_hidden] and {@value #LANGUAGE_INPUTS} float [batch, K, llm_hidden].
 */
public final class QFormerGraph {
    public static final String IMAGE_EMBEDS = VisionGraph.IMAGE_EMBEDS;
    public static final String INPUT_IDS = "qformer_input_ids";
    public static final String ATTENTION_MASK = "qformer_attention_mask";
    public static final String QUERY_OUTPUT = "query_output";
    public static final String LANGUAGE_INPUTS = "language_inputs";

    private QFormerGraph() {}

    public static GraphBuilder build(InstructBlipConfig config, SafetensorsCheckpoint ckpt) {
        return build(config, ckpt, true);
    }

    /** As {@link #build(InstructBlipConfig, SafetensorsCheckpoint)}; fused false keeps to plain ONNX ops. */
    public static GraphBuilder build(InstructBlipConfig config, SafetensorsCheckpoint ckpt, boolean fused) {
        InstructBlipConfig.QFormerConfig qc = config.qformer();
        GraphBuilder g = new GraphBuilder(config.qformerTextInput() ? "instructblip_qformer" : "blip2_qformer");
        EncoderOps ops = new EncoderOps(g, ckpt);
        Activation act = Activation.of("qformer_config.hidden_act", qc.hiddenAct());
        int hidden = qc.hiddenSize();
        int k = config.numQueryTokens();
        double eps = qc.layerNormEps();

        String image = g.input(IMAGE_EMBEDS, DataType.FLOAT, "batch", "image_tokens", qc.encoderHiddenSize());
        VisionGraph.checkShape(ckpt, "query_tokens", (long) k * hidden);
        String queryWeights = g.weight("query_tokens", Weight.of(ckpt, "query_tokens").reshaped(1, k, hidden));
        String x;
        String selfMask = null; // null: nothing masked (BLIP-2, queries only)
        if (config.qformerTextInput()) {
            String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "text_len");
            String mask = g.input(ATTENTION_MASK, DataType.INT64, "batch", "text_len");
            String batch = ops.batchDim(ids);

            // embeddings: [queries ; words + positions 0..T-1], then LayerNorm over all of it
            String e = "qformer.embeddings.";
            String words = g.gather(ops.param(e + "word_embeddings.weight"), ids, 0);
            String textLen = g.squeeze(g.slice(g.shape(ids), new long[] {1}, new long[] {2}, new long[] {0}), 0);
            String positionIds = g.op("Range", g.scalarLong(0), textLen, g.scalarLong(1));
            String text = g.add(words, g.gather(ops.param(e + "position_embeddings.weight"), positionIds, 0));
            String queries = ops.expandBatch(queryWeights, batch, k, hidden);
            x = ops.layerNorm(g.concat(1, queries, text), e + "layernorm", eps);

            if (fused) {
                // MultiHeadAttention's key padding mask [B, K+T]: 1 attended, 0 padding (float-min scores)
                String queryMask = ops.expandBatch(g.constLongs(new long[] {1, k}, ones(k)), batch, k);
                selfMask = g.cast(g.concat(1, queryMask, mask), DataType.INT32);
            } else {
                // additive self-attention mask [B,1,1,K+T]: 0 where attended, float-min on text padding
                String textBias = g.mul(g.sub(g.scalar(1f), g.cast(mask, DataType.FLOAT)),
                        g.scalar(-Float.MAX_VALUE));
                String queryBias = ops.expandBatch(g.constFloats(new long[] {1, k}, new float[k]), batch, k);
                selfMask = g.unsqueeze(g.concat(1, queryBias, textBias), 1, 2);
            }
        } else {
            // BLIP-2: the queries alone (one per batch row of the image), LayerNorm'd as qformer.layernorm
            x = ops.layerNorm(ops.expandBatch(queryWeights, ops.batchDim(image), k, hidden), "qformer.layernorm", eps);
        }

        for (int i = 0; i < qc.numLayers(); i++) {
            String l = "qformer.encoder.layer." + i + ".";
            boolean last = i == qc.numLayers() - 1;
            // the last layer's text half feeds no output: only the queries need attending there
            String attnIn = last && config.qformerTextInput() ? g.slice(x, new long[] {0}, new long[] {k}, new long[] {1}) : x;
            String attn = attentionBlock(ops, qc, fused, attnIn, x, l + "attention.", selfMask);

            boolean queriesOnly = last || !config.qformerTextInput();
            String q = queriesOnly ? attn : g.slice(attn, new long[] {0}, new long[] {k}, new long[] {1});
            if (qc.hasCrossAttention(i)) {
                q = attentionBlock(ops, qc, fused, q, image, l + "crossattention.", null);
            }
            q = feedForward(ops, act, q, l + "intermediate_query", l + "output_query", eps, fused);
            if (queriesOnly) {
                x = q;
            } else {
                String t = g.slice(attn, new long[] {k}, new long[] {Long.MAX_VALUE}, new long[] {1});
                t = feedForward(ops, act, t, l + "intermediate", l + "output", eps, fused);
                x = g.concat(1, q, t);
            }
        }
        g.output(x, QUERY_OUTPUT, DataType.FLOAT, "batch", k, hidden);
        String projected = ops.linear(x, "language_projection");
        g.output(projected, LANGUAGE_INPUTS, DataType.FLOAT, "batch", k, config.languageHiddenSize());
        return g;
    }

    private static String feedForward(EncoderOps ops, Activation act, String x, String intermediate, String output,
                                      double eps, boolean fused) {
        GraphBuilder g = ops.graph();
        String h = act.apply(g, ops.linear(x, intermediate + ".dense"));
        return fused
                ? ops.skipLayerNorm(ops.matMul(h, output + ".dense"), x, ops.bias(output + ".dense"),
                        output + ".LayerNorm", eps)[0]
                : ops.layerNorm(g.add(ops.linear(h, output + ".dense"), x), output + ".LayerNorm", eps);
    }

    /**
     * A BERT attention sub-block {@code prefix}: LayerNorm(dense(attention(query(in), key(kv), value(kv))) + in).
     * {@code mask} is null, or for the fused graph the int32 key padding mask, for the plain one the additive mask.
     */
    private static String attentionBlock(EncoderOps ops, InstructBlipConfig.QFormerConfig qc, boolean fused, String in,
                                         String kv, String prefix, String mask) {
        GraphBuilder g = ops.graph();
        String a = prefix + "attention.";
        String out = prefix + "output.";
        if (!fused) {
            String ctx = ops.attention(ops.linear(in, a + "query"), ops.linear(kv, a + "key"),
                    ops.linear(kv, a + "value"), mask, qc.numHeads(), qc.headDim());
            return ops.layerNorm(g.add(ops.linear(ctx, out + "dense"), in), out + "LayerNorm", qc.layerNormEps());
        }
        String ctx = ops.multiHeadAttention(ops.matMul(in, a + "query"), ops.matMul(kv, a + "key"),
                ops.matMul(kv, a + "value"), ops.qkvBias(a + "query", a + "key", a + "value", qc.hiddenSize()), mask,
                qc.numHeads());
        return ops.skipLayerNorm(ops.matMul(ctx, out + "dense"), in, ops.bias(out + "dense"), out + "LayerNorm",
                qc.layerNormEps())[0];
    }

    private static long[] ones(int n) {
        long[] v = new long[n];
        Arrays.fill(v, 1L);
        return v;
    }
}
