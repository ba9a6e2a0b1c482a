package dev.loupe.model.layers;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Transformer building blocks shared by every family's encoders (BLIP vision and Q-Former, CLIP in LLaVA) so that a
 * fix to attention or a Linear layer lands in all of them: torch Linear layers read from the checkpoint, multi-head
 * attention in plain ops with an optional additive mask, the fused ONNX Runtime CPU kernels the encoders run on
 * ({@code com.microsoft.MultiHeadAttention} with the projection biases folded in, {@code SkipLayerNormalization}
 * for residual + bias + LayerNorm), and broadcasting helpers that keep the batch dimension symbolic.
 *
 * <p>The fused ops are written where ONNX Runtime does not fuse by itself (measured on its optimized model, see
 * docs/models.md): it fuses erf-GELU with its bias into {@code BiasGelu}, but not attention with a padding mask, nor a
 * residual Add whose sum is used again (every pre-norm block) into {@code SkipLayerNormalization}. The linear layers
 * before them stay {@code MatMul}s by a weight, so quantized packages rewrite them as before.
 */
public final class EncoderOps {
    private final GraphBuilder g;
    private final SafetensorsCheckpoint ckpt;

    public EncoderOps(GraphBuilder g, SafetensorsCheckpoint ckpt) {
        this.g = g;
        this.ckpt = ckpt;
    }

    public GraphBuilder graph() {
        return g;
    }

    /** A checkpoint tensor as a graph initializer named after it. */
    public String param(String name) {
        return g.weight(name, Weight.of(ckpt, name));
    }

    /** A torch Linear ({@code prefix.weight} [out,in], optional {@code prefix.bias}) applied to x. */
    public String linear(String x, String prefix) {
        String w = g.weight(prefix + ".weight", Weight.of(ckpt, prefix + ".weight").transposed());
        String b = ckpt.has(prefix + ".bias") ? param(prefix + ".bias") : null;
        return g.linear(x, w, b);
    }

    /** x @ W of the torch Linear {@code prefix} without its bias (a fused op that follows adds it). */
    public String matMul(String x, String prefix) {
        return g.matMul(x, g.weight(prefix + ".weight", Weight.of(ckpt, prefix + ".weight").transposed()));
    }

    /** The bias {@code prefix.bias} of a torch Linear as an initializer, or null if it has none. */
    public String bias(String prefix) {
        return ckpt.has(prefix + ".bias") ? param(prefix + ".bias") : null;
    }

    /**
     * The biases of three torch Linear layers of width {@code hidden} (query, key, value) as one [3 * hidden]
     * initializer, zeros where one has none, for {@link #multiHeadAttention}; null if none of the three has a bias.
     */
    public String qkvBias(String q, String k, String v, int hidden) {
        String[] prefixes = {q, k, v};
        boolean any = false;
        for (String p : prefixes) {
            if (ckpt.has(p + ".bias")) {
                long n = ckpt.info(p + ".bias").elementCount();
                if (n != hidden) {
                    throw new IllegalArgumentException("checkpoint tensor " + p + ".bias has " + n
                            + " values, expected " + hidden);
                }
                any = true;
            }
        }
        if (!any) {
            return null;
        }
        return g.weight(q + ".qkv_bias", Weight.lazy(() -> {
            float[] out = new float[3 * hidden];
            for (int i = 0; i < 3; i++) {
                if (ckpt.has(prefixes[i] + ".bias")) {
                    System.arraycopy(ckpt.floats(prefixes[i] + ".bias"), 0, out, i * hidden, hidden);
                }
            }
            return out;
        }, 3L * hidden));
    }

    /**
     * ONNX Runtime's fused {@code com.microsoft.MultiHeadAttention}: softmax(Q K^T / sqrt(head_dim) + mask) V with
     * q [B,Lq,H*D], k and v [B,Lk,H*D] before their projection biases; {@code qkvBias} ([3 * H*D], null for none)
     * is added inside the kernel as it splits the heads. {@code keyPadding} is null or an int32 [B, Lk] mask (1 =
     * attend, 0 = padding; padded keys get a float-min score, as {@link #attention}'s additive mask gives them).
     * Returns [B, Lq, H*D].
     */
    public String multiHeadAttention(String q, String k, String v, String qkvBias, String keyPadding, int heads) {
        List<String> in = new ArrayList<>(List.of(q, k, v));
        if (qkvBias != null || keyPadding != null) {
            in.add(qkvBias == null ? "" : qkvBias);
        }
        if (keyPadding != null) {
            in.add(keyPadding);
        }
        Map<String, Object> attrs = keyPadding == null ? Map.of("num_heads", (long) heads)
                : Map.of("num_heads", (long) heads, "mask_filter_value", -Float.MAX_VALUE);
        return g.msOp("MultiHeadAttention", 1, attrs, in.toArray(String[]::new))[0];
    }

    /**
     * ONNX Runtime's {@code com.microsoft.SkipLayerNormalization}: LayerNorm {@code prefix} of input + skip (+ bias,
     * null for none) over the last axis. Returns {normalized, input + skip + bias}: the sum is the residual stream
     * of a pre-norm block, which ONNX Runtime's own fusion leaves unfused because the sum has a second use.
     */
    public String[] skipLayerNorm(String input, String skip, String bias, String prefix, double eps) {
        String[] in = bias == null
                ? new String[] {input, skip, param(prefix + ".weight"), param(prefix + ".bias")}
                : new String[] {input, skip, param(prefix + ".weight"), param(prefix + ".bias"), bias};
        String[] out = g.msOp("SkipLayerNormalization", 4, Map.of("epsilon", (float) eps), in);
        return new String[] {out[0], out[3]};
    }

    /** LayerNorm with {@code prefix.weight} / {@code prefix.bias}. */
    public String layerNorm(String x, String prefix, double eps) {
        return g.layerNorm(x, param(prefix + ".weight"), param(prefix + ".bias"), (float) eps);
    }

    /** [B, L, H*D] to [B, H, L, D]. */
    public String splitHeads(String x, int heads, int headDim) {
        return g.transpose(g.reshape(x, 0, 0, heads, headDim), 0, 2, 1, 3);
    }

    /** [B, L, H*D] to [B, H, D, L] (keys ready for Q @ K^T). */
    public String splitHeadsTransposed(String x, int heads, int headDim) {
        return g.transpose(g.reshape(x, 0, 0, heads, headDim), 0, 2, 3, 1);
    }

    /**
     * softmax(Q K^T * scale + mask) V with q [B,Lq,H*D], k and v [B,Lk,H*D]; mask is null or additive and
     * broadcastable to [B, H, Lq, Lk]. Returns [B, Lq, H*D].
     */
    public String attention(String q, String k, String v, String mask, int heads, int headDim) {
        String qh = splitHeads(q, heads, headDim);
        String kt = splitHeadsTransposed(k, heads, headDim);
        String vh = splitHeads(v, heads, headDim);
        String scores = g.mul(g.matMul(qh, kt), g.scalar((float) (1.0 / Math.sqrt(headDim))));
        if (mask != null) {
            scores = g.add(scores, mask);
        }
        String ctx = g.matMul(g.softmax(scores, -1), vh);
        return g.reshape(g.transpose(ctx, 0, 2, 1, 3), 0, 0, (long) heads * headDim);
    }

    /** The batch size of x as a 1-element int64 tensor. */
    public String batchDim(String x) {
        return g.slice(g.shape(x), new long[] {0}, new long[] {1}, new long[] {0});
    }

    /** Broadcasts t of shape [1, rest...] to [batch, rest...]. */
    public String expandBatch(String t, String batch, long... rest) {
        return g.op("Expand", t, g.concat(0, batch, g.constLongs(rest)));
    }
}
