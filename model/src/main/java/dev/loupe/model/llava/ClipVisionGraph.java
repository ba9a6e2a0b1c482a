package dev.loupe.model.llava;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.EncoderOps;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The CLIP vision tower as ONNX ops appended to a graph, as transformers' {@code CLIPVisionTransformer} computes it:
 * patch convolution (no bias), class token, learned position embeddings, {@code pre_layrnorm}, then pre-norm
 * encoder layers with separate q/k/v/out projections (with biases) and an MLP. The hidden-states tuple is indexed
 * as in transformers (0 = the embeddings after pre_layrnorm, i = the output of layer i), and only the layers the
 * requested states need are built.
 *
 * <p>The layers run on ONNX Runtime's fused CPU kernels ({@link EncoderOps}): the q/k/v biases go into
 * {@code com.microsoft.MultiHeadAttention}, and each residual Add with the bias before it and the LayerNorm after it
 * is one {@code SkipLayerNormalization} whose residual sum is the hidden state (a layer's {@code layer_norm2} and
 * the next layer's {@code layer_norm1}); the last layer built ends in a plain Add, as nothing normalizes its output.
 */
public final class ClipVisionGraph {
    private final GraphBuilder g;
    private final EncoderOps ops;
    private final SafetensorsCheckpoint ckpt;
    private final LlavaConfig.ClipVisionConfig config;
    private final String prefix;

    /** @param prefix where the {@code CLIPVisionModel} weights live, e.g. {@code vision_tower.vision_model.} */
    public ClipVisionGraph(GraphBuilder g, SafetensorsCheckpoint ckpt, LlavaConfig.ClipVisionConfig config,
                           String prefix) {
        this.g = g;
        this.ops = new EncoderOps(g, ckpt);
        this.ckpt = ckpt;
        this.config = config;
        this.prefix = prefix;
    }

    /** The hidden states of {@code pixels} [B, 3, S, S] at the given tuple indices, each [B, 1 + patches, hidden]. */
    public List<String> hiddenStates(String pixels, int... indices) {
        int last = 0;
        for (int i : indices) {
            last = Math.max(last, i);
        }
        List<String> states = new ArrayList<>();
        String x = ops.layerNorm(embeddings(pixels), prefix + "pre_layrnorm", config.layerNormEps());
        states.add(x);
        String h = last > 0 ? ops.layerNorm(x, layer(0) + "layer_norm1", config.layerNormEps()) : null;
        for (int i = 0; i < last; i++) {
            // h: this layer's normalized input; the next one's comes out of this layer's last SkipLayerNorm
            String[] next = layer(x, h, layer(i), i + 1 < last ? layer(i + 1) + "layer_norm1" : null);
            x = next[0];
            h = next[1];
            states.add(x);
        }
        List<String> out = new ArrayList<>(indices.length);
        for (int i : indices) {
            out.add(states.get(i));
        }
        return out;
    }

    private String embeddings(String pixels) {
        int hidden = config.hiddenSize();
        int p = config.patchSize();
        String emb = prefix + "embeddings.";
        String conv = ckpt.has(emb + "patch_embedding.bias")
                ? g.op("Conv", Map.of("kernel_shape", new long[] {p, p}, "strides", new long[] {p, p}),
                        pixels, ops.param(emb + "patch_embedding.weight"), ops.param(emb + "patch_embedding.bias"))
                : g.op("Conv", Map.of("kernel_shape", new long[] {p, p}, "strides", new long[] {p, p}),
                        pixels, ops.param(emb + "patch_embedding.weight"));
        String patches = g.transpose(g.reshape(conv, 0, hidden, -1), 0, 2, 1); // [B, P, hidden]
        String cls = ops.expandBatch(g.weight(emb + "class_embedding",
                Weight.of(ckpt, emb + "class_embedding").reshaped(1, 1, hidden)), ops.batchDim(pixels), 1, hidden);
        String table = emb + "position_embedding.weight";
        long n = ckpt.info(table).elementCount();
        if (n != (long) config.numPositions() * hidden) {
            throw new IllegalArgumentException("checkpoint tensor " + table + " has " + n + " values, config implies "
                    + config.numPositions() + " x " + hidden);
        }
        String positions = g.weight(table, Weight.of(ckpt, table).reshaped(1, config.numPositions(), hidden));
        return g.add(g.concat(1, cls, patches), positions);
    }

    private String layer(int i) {
        return prefix + "encoder.layers." + i + ".";
    }

    /**
     * One encoder layer {@code l} on residual stream x with h = layer_norm1(x); returns {output, nextNorm(output)},
     * the second null when nextNorm is.
     */
    private String[] layer(String x, String h, String l, String nextNorm) {
        double eps = config.layerNormEps();
        String a = l + "self_attn.";
        String ctx = ops.multiHeadAttention(ops.matMul(h, a + "q_proj"), ops.matMul(h, a + "k_proj"),
                ops.matMul(h, a + "v_proj"), ops.qkvBias(a + "q_proj", a + "k_proj", a + "v_proj", config.hiddenSize()),
                null, config.numHeads());
        String[] norm2 = ops.skipLayerNorm(ops.matMul(ctx, a + "out_proj"), x, ops.bias(a + "out_proj"),
                l + "layer_norm2", eps);
        String mlp = ops.matMul(config.hiddenAct().apply(g, ops.linear(norm2[0], l + "mlp.fc1")), l + "mlp.fc2");
        if (nextNorm == null) {
            String fc2Bias = ops.bias(l + "mlp.fc2");
            return new String[] {g.add(norm2[1], fc2Bias == null ? mlp : g.add(mlp, fc2Bias)), null};
        }
        String[] norm1 = ops.skipLayerNorm(mlp, norm2[1], ops.bias(l + "mlp.fc2"), nextNorm, eps);
        return new String[] {norm1[1], norm1[0]};
    }
}
