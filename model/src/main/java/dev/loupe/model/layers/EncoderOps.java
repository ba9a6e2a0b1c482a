package dev.loupe.model.layers;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;

/**
 * Transformer building blocks in plain ONNX ops, shared by every family's encoders (BLIP vision and Q-Former, CLIP
 * in LLaVA) so that a fix to attention or a Linear layer lands in all of them: torch Linear layers read from the
 * checkpoint, multi-head attention with an optional additive mask, and broadcasting helpers that keep the batch
 * dimension symbolic.
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
