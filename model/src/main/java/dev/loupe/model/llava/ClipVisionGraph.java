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
        for (int i = 0; i < last; i++) {
            x = layer(x, prefix + "encoder.layers." + i + ".");
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

    private String layer(String x, String l) {
        String h = ops.layerNorm(x, l + "layer_norm1", config.layerNormEps());
        String q = ops.linear(h, l + "self_attn.q_proj");
        String k = ops.linear(h, l + "self_attn.k_proj");
        String v = ops.linear(h, l + "self_attn.v_proj");
        String ctx = g.msOp("MultiHeadAttention", 1, Map.of("num_heads", (long) config.numHeads()), q, k, v)[0];
        x = g.add(x, ops.linear(ctx, l + "self_attn.out_proj"));
        h = ops.layerNorm(x, l + "layer_norm2", config.layerNormEps());
        h = ops.linear(config.hiddenAct().apply(g, ops.linear(h, l + "mlp.fc1")), l + "mlp.fc2");
        return g.add(x, h);
    }
}
