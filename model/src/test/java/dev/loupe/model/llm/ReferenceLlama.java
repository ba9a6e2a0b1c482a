package dev.loupe.model.llm;

import java.util.Map;

/**
 * A straightforward LLaMA forward pass in plain Java (naive loops, float64 accumulation) over one unpadded row,
 * written from transformers' modeling_llama.py independently of the ONNX graphs; the yardstick for tests.
 */
final class ReferenceLlama {
    private final Map<String, float[]> w;
    private final int vocab;
    private final int hidden;
    private final int inter;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final double eps;
    private final double[] invFreq;
    private final boolean attentionBias;
    private final boolean mlpBias;
    private final boolean tied;

    ReferenceLlama(Map<String, float[]> weights, int vocab, int hidden, int inter, int layers, int heads, int kvHeads,
                   int headDim, double eps, double[] invFreq, boolean attentionBias, boolean mlpBias, boolean tied) {
        this.w = weights;
        this.vocab = vocab;
        this.hidden = hidden;
        this.inter = inter;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.eps = eps;
        this.invFreq = invFreq;
        this.attentionBias = attentionBias;
        this.mlpBias = mlpBias;
        this.tied = tied;
    }

    double[] embedding(int token) {
        double[] e = new double[hidden];
        float[] table = w.get("model.embed_tokens.weight");
        for (int i = 0; i < hidden; i++) {
            e[i] = table[token * hidden + i];
        }
        return e;
    }

    /** Logits at every position of {@code x} [n][hidden], positions 0..n-1, causal attention. */
    double[][] forward(double[][] input) {
        int n = input.length;
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = input[t].clone();
        }
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] h = rms(x[t], w.get(p + "input_layernorm.weight"));
                q[t] = rope(linear(h, p + "self_attn.q_proj", heads * headDim, attentionBias), heads, t);
                k[t] = rope(linear(h, p + "self_attn.k_proj", kvHeads * headDim, attentionBias), kvHeads, t);
                v[t] = linear(h, p + "self_attn.v_proj", kvHeads * headDim, attentionBias);
            }
            int group = heads / kvHeads;
            double scale = 1.0 / Math.sqrt(headDim);
            for (int t = 0; t < n; t++) {
                double[] ctx = new double[heads * headDim];
                for (int hd = 0; hd < heads; hd++) {
                    int kv = hd / group;
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) {
                            dot += q[t][hd * headDim + d] * k[j][kv * headDim + d];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        for (int d = 0; d < headDim; d++) {
                            ctx[hd * headDim + d] += s[j] / sum * v[j][kv * headDim + d];
                        }
                    }
                }
                double[] o = linear(ctx, p + "self_attn.o_proj", hidden, attentionBias);
                for (int i = 0; i < hidden; i++) {
                    x[t][i] += o[i];
                }
                double[] h2 = rms(x[t], w.get(p + "post_attention_layernorm.weight"));
                double[] gate = linear(h2, p + "mlp.gate_proj", inter, mlpBias);
                double[] up = linear(h2, p + "mlp.up_proj", inter, mlpBias);
                double[] act = new double[inter];
                for (int i = 0; i < inter; i++) {
                    act[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                double[] down = linear(act, p + "mlp.down_proj", hidden, mlpBias);
                for (int i = 0; i < hidden; i++) {
                    x[t][i] += down[i];
                }
            }
        }
        double[][] logits = new double[n][];
        float[] head = w.get(tied ? "model.embed_tokens.weight" : "lm_head.weight");
        for (int t = 0; t < n; t++) {
            double[] h = rms(x[t], w.get("model.norm.weight"));
            logits[t] = new double[vocab];
            for (int o = 0; o < vocab; o++) {
                double s = 0;
                for (int i = 0; i < hidden; i++) {
                    s += head[o * hidden + i] * h[i];
                }
                logits[t][o] = s;
            }
        }
        return logits;
    }

    private double[] rms(double[] x, float[] weight) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double inv = 1 / Math.sqrt(ms / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * inv;
        }
        return out;
    }

    private double[] linear(double[] x, String name, int outDim, boolean bias) {
        float[] weight = w.get(name + ".weight");
        float[] b = bias ? w.get(name + ".bias") : null;
        double[] out = new double[outDim];
        for (int o = 0; o < outDim; o++) {
            double s = b == null ? 0 : b[o];
            for (int i = 0; i < x.length; i++) {
                s += weight[o * x.length + i] * x[i];
            }
            out[o] = s;
        }
        return out;
    }

    /** Rotary embedding at position {@code pos}: pairs (i, i + headDim/2) rotated by pos * invFreq[i]. */
    private double[] rope(double[] x, int n, int pos) {
        int half = headDim / 2;
        double[] out = x.clone();
        for (int h = 0; h < n; h++) {
            for (int i = 0; i < half; i++) {
                double a = pos * invFreq[i];
                double x1 = x[h * headDim + i];
                double x2 = x[h * headDim + i + half];
                out[h * headDim + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
                out[h * headDim + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
            }
        }
        return out;
    }
}
