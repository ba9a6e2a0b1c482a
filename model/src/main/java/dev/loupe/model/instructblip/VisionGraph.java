package dev.loupe.model.instructblip;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.Activation;
import dev.loupe.model.layers.EncoderOps;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.Map;

/**
 * The InstructBLIP vision tower (EVA-style ViT) as an ONNX graph: patch convolution, class token, learned position
 * embeddings, pre-norm blocks with fused qkv attention and an MLP, then the post layernorm. The output is the
 * sequence the Q-Former cross-attends to.
 *
 * <p>By default the blocks run on ONNX Runtime's fused CPU kernels ({@link EncoderOps}): q, k and v are three
 * MatMuls on slices of the fused qkv weight, the qkv bias goes into {@code com.microsoft.MultiHeadAttention}, and
 * each residual Add, the bias of the Linear before it and the LayerNorm after it are one
 * {@code SkipLayerNormalization} that also hands on the residual sum, so a layer's second norm and the next layer's
 * first norm (the last layer's: the post layernorm) need no separate Add. ONNX Runtime fuses erf-GELU with the fc1
 * bias into {@code BiasGelu} by itself. The same math in plain ONNX ops is kept as the reference
 * ({@code fused} false).
 *
 * <p>Input {@value #PIXEL_VALUES} float [batch, 3, image_size, image_size]; output {@value #IMAGE_EMBEDS} float
 * [batch, 1 + patches, vision_hidden].
 */
public final class VisionGraph {
    public static final String PIXEL_VALUES = "pixel_values";
    public static final String IMAGE_EMBEDS = "image_embeds";
    static final String PREFIX = "vision_model.";

    private VisionGraph() {}

    public static GraphBuilder build(InstructBlipConfig config, SafetensorsCheckpoint ckpt) {
        return build(config, ckpt, true);
    }

    /** As {@link #build(InstructBlipConfig, SafetensorsCheckpoint)}; fused false keeps to plain ONNX ops. */
    public static GraphBuilder build(InstructBlipConfig config, SafetensorsCheckpoint ckpt, boolean fused) {
        InstructBlipConfig.VisionConfig vc = config.vision();
        GraphBuilder g = new GraphBuilder("instructblip_vision");
        EncoderOps ops = new EncoderOps(g, ckpt);
        Activation act = Activation.of("vision_config.hidden_act", vc.hiddenAct());
        int hidden = vc.hiddenSize();
        int p = vc.patchSize();

        String pixels = g.input(PIXEL_VALUES, DataType.FLOAT, "batch", 3, vc.imageSize(), vc.imageSize());
        String emb = PREFIX + "embeddings.";
        String conv = g.op("Conv", Map.of("kernel_shape", new long[] {p, p}, "strides", new long[] {p, p}),
                pixels, ops.param(emb + "patch_embedding.weight"), ops.param(emb + "patch_embedding.bias"));
        String patches = g.transpose(g.reshape(conv, 0, hidden, -1), 0, 2, 1); // [B, P, hidden]
        String batch = ops.batchDim(pixels);
        String cls = ops.expandBatch(ops.param(emb + "class_embedding"), batch, 1, hidden);
        checkShape(ckpt, emb + "position_embedding", vc.numPositions() * (long) hidden);
        String positions = g.weight(emb + "position_embedding",
                Weight.of(ckpt, emb + "position_embedding").reshaped(1, vc.numPositions(), hidden));
        String x = g.add(g.concat(1, cls, patches), positions);
        String out = fused ? fusedBlocks(g, ops, ckpt, vc, act, x) : plainBlocks(g, ops, ckpt, vc, act, x);
        g.output(out, IMAGE_EMBEDS, DataType.FLOAT, "batch", vc.numPositions(), hidden);
        return g;
    }

    private static String plainBlocks(GraphBuilder g, EncoderOps ops, SafetensorsCheckpoint ckpt,
                                      InstructBlipConfig.VisionConfig vc, Activation act, String x) {
        int hidden = vc.hiddenSize();
        for (int i = 0; i < vc.numLayers(); i++) {
            String l = layer(i);
            String h = ops.layerNorm(x, l + "layer_norm1", vc.layerNormEps());
            String qkv = g.linear(h, qkvWeight(g, ckpt, l), qkvBias(g, ckpt, l + "self_attn.", hidden, vc.qkvBias()));
            String[] parts = g.opN("Split", 3, Map.of("axis", -1L), qkv, g.constLongs(hidden, hidden, hidden));
            String ctx = ops.attention(parts[0], parts[1], parts[2], null, vc.numHeads(), vc.headDim());
            x = g.add(x, ops.linear(ctx, l + "self_attn.projection"));
            h = ops.layerNorm(x, l + "layer_norm2", vc.layerNormEps());
            h = ops.linear(act.apply(g, ops.linear(h, l + "mlp.fc1")), l + "mlp.fc2");
            x = g.add(x, h);
        }
        return ops.layerNorm(x, PREFIX + "post_layernorm", vc.layerNormEps());
    }

    /** The blocks on fused kernels; h is always the normalized input of the next sub-block, x the residual sum. */
    private static String fusedBlocks(GraphBuilder g, EncoderOps ops, SafetensorsCheckpoint ckpt,
                                      InstructBlipConfig.VisionConfig vc, Activation act, String x) {
        int hidden = vc.hiddenSize();
        double eps = vc.layerNormEps();
        if (vc.numLayers() == 0) {
            return ops.layerNorm(x, PREFIX + "post_layernorm", eps);
        }
        String h = ops.layerNorm(x, layer(0) + "layer_norm1", eps);
        for (int i = 0; i < vc.numLayers(); i++) {
            String l = layer(i);
            String ctx = ops.multiHeadAttention(qkvPart(g, ckpt, h, l, 0, hidden), qkvPart(g, ckpt, h, l, 1, hidden),
                    qkvPart(g, ckpt, h, l, 2, hidden),
                    qkvBias(g, ckpt, l + "self_attn.", hidden, vc.qkvBias()), null, vc.numHeads());
            String[] norm2 = ops.skipLayerNorm(ops.matMul(ctx, l + "self_attn.projection"), x,
                    ops.bias(l + "self_attn.projection"), l + "layer_norm2", eps);
            String mlp = ops.matMul(act.apply(g, ops.linear(norm2[0], l + "mlp.fc1")), l + "mlp.fc2");
            String next = i + 1 < vc.numLayers() ? layer(i + 1) + "layer_norm1" : PREFIX + "post_layernorm";
            String[] norm1 = ops.skipLayerNorm(mlp, norm2[1], ops.bias(l + "mlp.fc2"), next, eps);
            h = norm1[0];
            x = norm1[1];
        }
        return h;
    }

    private static String layer(int i) {
        return PREFIX + "encoder.layers." + i + ".";
    }

    private static String qkvWeight(GraphBuilder g, SafetensorsCheckpoint ckpt, String layer) {
        String name = layer + "self_attn.qkv.weight";
        return g.weight(name, Weight.of(ckpt, name).transposed());
    }

    /**
     * h times one third (0 = q, 1 = k, 2 = v) of the fused qkv weight: three MatMuls rather than one and a Split,
     * because ONNX Runtime's CPU MultiHeadAttention has no packed-QKV input and the Split is a copy of q, k and v
     * (4 % of the vision time at batch 16); ONNX Runtime shares the three MatMuls' input quantization in int8 packages.
     */
    private static String qkvPart(GraphBuilder g, SafetensorsCheckpoint ckpt, String h, String layer, int part,
                                  int hidden) {
        String name = layer + "self_attn.qkv.weight";
        checkShape(ckpt, name, 3L * hidden * hidden);
        return g.matMul(h, g.weight(name + "." + "qkv".charAt(part),
                Weight.of(ckpt, name).rows((long) part * hidden, (long) (part + 1) * hidden).transposed()));
    }

    /**
     * The fused qkv bias: stored whole as {@code qkv.bias} by recent transformers, or as {@code q_bias}/{@code v_bias}
     * by older checkpoints, where K has no bias and gets zeros.
     */
    private static String qkvBias(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix, int hidden,
                                  boolean qkvBias) {
        if (ckpt.has(prefix + "qkv.bias")) {
            return g.weight(prefix + "qkv.bias", Weight.of(ckpt, prefix + "qkv.bias"));
        }
        if (ckpt.has(prefix + "q_bias") && ckpt.has(prefix + "v_bias")) {
            return g.weight(prefix + "qkv.bias", Weight.lazy(() -> {
                float[] out = new float[3 * hidden];
                System.arraycopy(ckpt.floats(prefix + "q_bias"), 0, out, 0, hidden);
                System.arraycopy(ckpt.floats(prefix + "v_bias"), 0, out, 2 * hidden, hidden);
                return out;
            }, 3L * hidden));
        }
        if (qkvBias) {
            throw new IllegalArgumentException("vision_config.qkv_bias is true but the checkpoint has neither "
                    + prefix + "qkv.bias nor " + prefix + "q_bias/v_bias");
        }
        return null;
    }

    static void checkShape(SafetensorsCheckpoint ckpt, String name, long elements) {
        long n = ckpt.info(name).elementCount();
        if (n != elements) {
            throw new IllegalArgumentException("checkpoint tensor " + name + " has " + n + " values, config implies "
                    + elements);
        }
    }
}
