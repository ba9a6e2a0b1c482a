package dev.loupe.model.t5;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.Activation;
import dev.loupe.model.llm.TokenChoiceHead;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.Weight;
import java.util.Arrays;
import java.util.Map;

/**
 * Builds a T5 / Flan-T5 language model as three ONNX graphs from Hugging Face weights, mirroring transformers'
 * {@code modeling_t5.py} (eager attention, float32: no score scaling, RMS-style T5 LayerNorm, relative position
 * buckets from the first layer's table, shared by all layers of a stack):
 * <ul>
 *   <li>{@link #tokenEmbedding}: {@value #INPUT_IDS} int64 [batch, seq] → {@value #INPUTS_EMBEDS}, the shared
 *       table, so callers can put image embeddings in front of the prompt;</li>
 *   <li>{@link #encoder}: {@value #INPUTS_EMBEDS} [batch, seq, d_model], {@value #ATTENTION_MASK} int64
 *       [batch, seq] → {@value #ENCODER_HIDDEN_STATES} and, for every decoder layer, the cross-attention keys and
 *       values {@code cross.{i}.key|value} [batch, heads, seq, d_kv]: they depend on the encoder output only, so
 *       they are computed once per request here instead of at every decoding step;</li>
 *   <li>{@link #decoder}: {@value #INPUT_IDS} [batch, seq], {@value #ENCODER_ATTENTION_MASK} [batch, enc_seq],
 *       the cross keys/values, {@code past.{i}.key|value} [batch, heads, past, d_kv] → {@value #LOGITS}
 *       [batch, seq, vocab] (and the {@link TokenChoiceHead} outputs, on input
 *       {@value TokenChoiceHead#CHOICE_COUNT}) and {@code present.{i}.key|value}. Within one generation every
 *       row starts with the start token, so the causal mask would do; {@value #DECODER_ATTENTION_MASK} int64
 *       [batch or 1, past + seq] (1 = key allowed; one row of ones where no row is padded) masks the left padding of
 *       rows that joined a continuous batch at different steps ({@link T5Rows}). The relative position bias depends
 *       on key minus query column only, so a row whose cached positions are right-aligned after padding gets its own
 *       unpadded bias. A row right-padded for scoring cannot influence its earlier positions.</li>
 * </ul>
 */
public final class T5Graphs {
    public static final String INPUT_IDS = "input_ids";
    public static final String INPUTS_EMBEDS = "inputs_embeds";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String ENCODER_HIDDEN_STATES = "encoder_hidden_states";
    public static final String ENCODER_ATTENTION_MASK = "encoder_attention_mask";
    public static final String DECODER_ATTENTION_MASK = "decoder_attention_mask";
    public static final String LOGITS = "logits";

    /** Lowest float32: what transformers adds to masked attention scores. */
    static final float MASKED_SCORE = -Float.MAX_VALUE;

    private T5Graphs() {}

    public static String crossKey(int layer) {
        return "cross." + layer + ".key";
    }

    public static String crossValue(int layer) {
        return "cross." + layer + ".value";
    }

    public static String pastKey(int layer) {
        return "past." + layer + ".key";
    }

    public static String pastValue(int layer) {
        return "past." + layer + ".value";
    }

    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /** The shared token embedding; {@code prefix} is where the T5 weights live, e.g. {@code "language_model."}. */
    public static GraphBuilder tokenEmbedding(SafetensorsCheckpoint ckpt, String prefix, T5Config config) {
        GraphBuilder g = new GraphBuilder("t5_token_embedding");
        String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "sequence");
        String table = g.weight("shared", checked(ckpt, prefix + "shared.weight", config.vocabSize(), config.dModel()));
        g.output(g.gather(table, ids, 0), INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", config.dModel());
        return g;
    }

    /** The encoder stack, plus the decoder's cross-attention keys and values; see the class comment. */
    public static GraphBuilder encoder(SafetensorsCheckpoint ckpt, String prefix, T5Config config) {
        GraphBuilder g = new GraphBuilder("t5_encoder");
        int d = config.dModel();
        String x = g.input(INPUTS_EMBEDS, DataType.FLOAT, "batch", "sequence", d);
        String mask = g.input(ATTENTION_MASK, DataType.INT64, "batch", "sequence");

        String bias = encoderPositionBias(g, ckpt, prefix, config, x);
        String allowed = g.unsqueeze(g.cast(mask, DataType.BOOL), 1, 2);

        for (int i = 0; i < config.numLayers(); i++) {
            String p = prefix + "encoder.block." + i + ".";
            String n = "encoder." + i + ".";
            String h = layerNorm(g, ckpt, x, p + "layer.0.layer_norm.weight", n + "ln0", config);
            String q = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.q", n + "q"), config);
            String k = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.k", n + "k"), config);
            String v = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.v", n + "v"), config);
            String context = attention(g, q, k, v, bias, allowed, config);
            x = g.add(x, linear(g, ckpt, context, p + "layer.0.SelfAttention.o", n + "o"));
            x = g.add(x, feedForward(g, ckpt, layerNorm(g, ckpt, x, p + "layer.1.layer_norm.weight", n + "ln1", config),
                    p + "layer.1.DenseReluDense", n + "ff", config));
        }
        String hidden = layerNorm(g, ckpt, x, prefix + "encoder.final_layer_norm.weight", "encoder.final_norm", config);
        g.output(hidden, ENCODER_HIDDEN_STATES, DataType.FLOAT, "batch", "sequence", d);
        outputCrossKeysAndValues(g, ckpt, prefix, config, hidden);
        return g;
    }

    /** Every decoder layer's cross-attention keys and values of the encoder output {@code hidden}, as outputs. */
    static void outputCrossKeysAndValues(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix, T5Config config,
                                         String hidden) {
        for (int i = 0; i < config.numDecoderLayers(); i++) {
            String p = prefix + "decoder.block." + i + ".layer.1.EncDecAttention.";
            String k = heads(g, linear(g, ckpt, hidden, p + "k", "decoder." + i + ".cross_k"), config);
            String v = heads(g, linear(g, ckpt, hidden, p + "v", "decoder." + i + ".cross_v"), config);
            g.output(k, crossKey(i), DataType.FLOAT, "batch", config.numHeads(), "sequence", config.dKv());
            g.output(v, crossValue(i), DataType.FLOAT, "batch", config.numHeads(), "sequence", config.dKv());
        }
    }

    /** The decoder stack with self-attention cache and LM head; see the class comment. */
    public static GraphBuilder decoder(SafetensorsCheckpoint ckpt, String prefix, T5Config config) {
        GraphBuilder g = new GraphBuilder("t5_decoder");
        int d = config.dModel();
        int heads = config.numHeads();
        int dKv = config.dKv();
        DecoderInputs inputs = DecoderInputs.declare(g, config);
        String ids = inputs.ids();
        String encoderMask = inputs.encoderMask();
        int layers = config.numDecoderLayers();
        String[] crossK = inputs.crossK();
        String[] crossV = inputs.crossV();
        String[] pastK = inputs.pastK();
        String[] pastV = inputs.pastV();
        String shared = g.weight("shared", checked(ckpt, prefix + "shared.weight", config.vocabSize(), d));
        String x = g.gather(shared, ids, 0);

        String[] biasAndCausal = decoderPositionBias(g, ckpt, prefix, config, ids, pastK[0]);
        String bias = biasAndCausal[0];
        String causal = g.op("And", biasAndCausal[1], inputs.selfAllowed(g)); // [batch, 1, q, k]
        String encoderAllowed = g.unsqueeze(g.cast(encoderMask, DataType.BOOL), 1, 2);

        for (int i = 0; i < layers; i++) {
            String p = prefix + "decoder.block." + i + ".";
            String n = "decoder." + i + ".";
            String h = layerNorm(g, ckpt, x, p + "layer.0.layer_norm.weight", n + "ln0", config);
            String q = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.q", n + "q"), config);
            String k = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.k", n + "k"), config);
            String v = heads(g, linear(g, ckpt, h, p + "layer.0.SelfAttention.v", n + "v"), config);
            String keys = g.opAs(presentKey(i), "Concat", Map.of("axis", 2L), pastK[i], k);
            String values = g.opAs(presentValue(i), "Concat", Map.of("axis", 2L), pastV[i], v);
            g.output(keys, keys, DataType.FLOAT, "batch", heads, "total_sequence", dKv);
            g.output(values, values, DataType.FLOAT, "batch", heads, "total_sequence", dKv);
            String self = attention(g, q, keys, values, bias, causal, config);
            x = g.add(x, linear(g, ckpt, self, p + "layer.0.SelfAttention.o", n + "o"));

            String h1 = layerNorm(g, ckpt, x, p + "layer.1.layer_norm.weight", n + "ln1", config);
            String cq = heads(g, linear(g, ckpt, h1, p + "layer.1.EncDecAttention.q", n + "cross_q"), config);
            String cross = attention(g, cq, crossK[i], crossV[i], null, encoderAllowed, config);
            x = g.add(x, linear(g, ckpt, cross, p + "layer.1.EncDecAttention.o", n + "cross_o"));

            x = g.add(x, feedForward(g, ckpt, layerNorm(g, ckpt, x, p + "layer.2.layer_norm.weight", n + "ln2", config),
                    p + "layer.2.DenseReluDense", n + "ff", config));
        }
        x = layerNorm(g, ckpt, x, prefix + "decoder.final_layer_norm.weight", "decoder.final_norm", config);
        outputLogits(g, ckpt, prefix, config, x);
        return g;
    }

    /** The decoder graph's inputs (see the class comment), declared in this order by {@link #declare}. */
    record DecoderInputs(String ids, String encoderMask, String selfMask, String[] crossK, String[] crossV,
                         String[] pastK, String[] pastV) {
        static DecoderInputs declare(GraphBuilder g, T5Config config) {
            int heads = config.numHeads();
            int dKv = config.dKv();
            String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "sequence");
            String encoderMask = g.input(ENCODER_ATTENTION_MASK, DataType.INT64, "batch", "encoder_sequence");
            // batch or 1: one row of ones broadcasts when no row is padded (the bias then stays [1, heads, q, k])
            String selfMask = g.input(DECODER_ATTENTION_MASK, DataType.INT64, "mask_batch", "total_sequence");
            int layers = config.numDecoderLayers();
            String[] crossK = new String[layers];
            String[] crossV = new String[layers];
            String[] pastK = new String[layers];
            String[] pastV = new String[layers];
            for (int i = 0; i < layers; i++) {
                crossK[i] = g.input(crossKey(i), DataType.FLOAT, "batch", heads, "encoder_sequence", dKv);
                crossV[i] = g.input(crossValue(i), DataType.FLOAT, "batch", heads, "encoder_sequence", dKv);
                pastK[i] = g.input(pastKey(i), DataType.FLOAT, "batch", heads, "past_sequence", dKv);
                pastV[i] = g.input(pastValue(i), DataType.FLOAT, "batch", heads, "past_sequence", dKv);
            }
            return new DecoderInputs(ids, encoderMask, selfMask, crossK, crossV, pastK, pastV);
        }

        /** The self-attention mask as booleans [batch or 1, 1, 1, past + seq], broadcast over heads and queries. */
        String selfAllowed(GraphBuilder g) {
            return g.unsqueeze(g.cast(selfMask, DataType.BOOL), 1, 2);
        }
    }

    /** The encoder's bidirectional relative position bias [1, heads, seq, seq] for the sequence of {@code x}. */
    static String encoderPositionBias(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix, T5Config config,
                                      String x) {
        String seqLen = g.squeeze(g.op("Shape", Map.of("start", 1L, "end", 2L), x), 0);
        String positions = g.op("Range", g.scalarLong(0), seqLen, g.scalarLong(1));
        String relative = g.sub(g.unsqueeze(positions, 0), g.unsqueeze(positions, 1)); // key - query
        return positionBias(g, ckpt, prefix + "encoder.block.0.layer.0.SelfAttention.relative_attention_bias",
                "encoder.relative_attention_bias", relative, true, config);
    }

    /**
     * The decoder's causal relative position bias [1, heads, seq, past + seq] for the tokens {@code ids} [batch, seq]
     * after the cached positions of {@code pastKey} [batch, heads, past, d_kv], and the causal mask [seq, past + seq]
     * (true = key allowed).
     */
    static String[] decoderPositionBias(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix, T5Config config,
                                        String ids, String pastKey) {
        String seqLen = g.squeeze(g.op("Shape", Map.of("start", 1L, "end", 2L), ids), 0);
        String pastLen = g.squeeze(g.op("Shape", Map.of("start", 2L, "end", 3L), pastKey), 0);
        String totalLen = g.add(pastLen, seqLen);
        String one = g.scalarLong(1);
        String queryPos = g.op("Range", pastLen, totalLen, one);
        String keyPos = g.op("Range", g.scalarLong(0), totalLen, one);
        String relative = g.sub(g.unsqueeze(keyPos, 0), g.unsqueeze(queryPos, 1));
        String bias = positionBias(g, ckpt, prefix + "decoder.block.0.layer.0.SelfAttention.relative_attention_bias",
                "decoder.relative_attention_bias", relative, false, config);
        String causal = g.op("LessOrEqual", g.unsqueeze(keyPos, 0), g.unsqueeze(queryPos, 1)); // [q, k]
        return new String[] {bias, causal};
    }

    /** The LM head on the decoder's final hidden states {@code x}, as {@value #LOGITS} and the token-choice tail. */
    static void outputLogits(GraphBuilder g, SafetensorsCheckpoint ckpt, String prefix, T5Config config, String x) {
        int d = config.dModel();
        Weight head;
        if (config.tieWordEmbeddings()) {
            // transformers rescales the output before a tied head (Mesh TensorFlow's convention)
            x = g.mul(x, g.scalar((float) Math.pow(d, -0.5)));
            head = checked(ckpt, prefix + "shared.weight", config.vocabSize(), d);
        } else {
            head = checked(ckpt, prefix + "lm_head.weight", config.vocabSize(), d);
        }
        String logits = g.opAs(LOGITS, "MatMul", Map.of(), x, g.weight("lm_head", head.transposed()));
        g.output(logits, LOGITS, DataType.FLOAT, "batch", "sequence", config.vocabSize());
        TokenChoiceHead.append(g, logits, "sequence");
    }

    /** softmax(q k^T + bias, masked) v, T5 style: no 1/sqrt(d) scaling; [b, h, q, d] → [b, q, h*d]. */
    private static String attention(GraphBuilder g, String q, String k, String v, String bias, String allowed,
                                    T5Config config) {
        String scores = g.matMul(q, g.transpose(k, 0, 1, 3, 2));
        if (bias != null) {
            scores = g.add(scores, bias);
        }
        scores = g.op("Where", allowed, scores, g.scalar(MASKED_SCORE));
        String probs = g.softmax(scores, -1);
        return g.reshape(g.transpose(g.matMul(probs, v), 0, 2, 1, 3), 0, 0, (long) config.innerDim());
    }

    /**
     * The relative position bias [1, heads, q, k] for {@code relative} = key position - query position (int64
     * [q, k]), looked up in the table [buckets, heads]; buckets as transformers' {@code _relative_position_bucket}
     * in float32.
     */
    static String positionBias(GraphBuilder g, SafetensorsCheckpoint ckpt, String tableName, String graphName,
                                       String relative, boolean bidirectional, T5Config config) {
        int buckets = config.relativeAttentionNumBuckets();
        String bucket = null;
        String rel = relative;
        if (bidirectional) {
            buckets /= 2;
            bucket = g.mul(g.cast(g.op("Greater", rel, g.scalarLong(0)), DataType.INT64), g.scalarLong(buckets));
            rel = g.op("Abs", rel);
        } else {
            rel = g.op("Neg", g.op("Min", rel, g.scalarLong(0)));
        }
        int maxExact = buckets / 2;
        String isSmall = g.op("Less", rel, g.scalarLong(maxExact));
        String scaled = g.mul(g.div(g.op("Log", g.div(g.cast(rel, DataType.FLOAT), g.scalar((float) maxExact))),
                g.scalar((float) Math.log((double) config.relativeAttentionMaxDistance() / maxExact))),
                g.scalar((float) (buckets - maxExact)));
        String large = g.op("Min", g.add(g.cast(scaled, DataType.INT64), g.scalarLong(maxExact)),
                g.scalarLong(buckets - 1));
        String chosen = g.op("Where", isSmall, rel, large);
        bucket = bucket == null ? chosen : g.add(bucket, chosen);
        String table = g.weight(graphName, checked(ckpt, tableName + ".weight", config.relativeAttentionNumBuckets(),
                config.numHeads()));
        return g.unsqueeze(g.transpose(g.gather(table, bucket, 0), 2, 0, 1), 0);
    }

    /** T5LayerNorm: weight * x / sqrt(mean(x^2) + eps), no mean subtraction, no bias. */
    private static String layerNorm(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String weightName,
                                    String graphName, T5Config config) {
        String variance = g.op("ReduceMean", Map.of("keepdims", 1L), g.mul(x, x), g.constLongs(-1));
        String normed = g.div(x, g.op("Sqrt", g.add(variance, g.scalar((float) config.layerNormEpsilon()))));
        return g.mul(g.weight(graphName, checked(ckpt, weightName, config.dModel())), normed);
    }

    /** Gated (wi_0 activation times wi_1) or plain (wi) MLP, then wo. */
    static String feedForward(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String p, String n,
                              T5Config config) {
        return feedForward(g, ckpt, x, p, n, config, false);
    }

    /**
     * As {@link #feedForward(GraphBuilder, SafetensorsCheckpoint, String, String, String, T5Config)}; with
     * {@code fastGelu}, a tanh-approximated GELU (Flan-T5's gelu_new) is ONNX Runtime's {@code com.microsoft.FastGelu},
     * the same formula in one kernel (its optimizer does not fuse T5's op-by-op form).
     */
    static String feedForward(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String p, String n,
                              T5Config config, boolean fastGelu) {
        java.util.function.UnaryOperator<String> act = fastGelu && config.activation() == Activation.GELU_TANH
                ? h -> g.msOp("FastGelu", 1, Map.of(), h)[0]
                : h -> config.activation().apply(g, h);
        String hidden;
        if (config.gatedAct()) {
            hidden = g.mul(act.apply(linear(g, ckpt, x, p + ".wi_0", n + ".wi_0")),
                    linear(g, ckpt, x, p + ".wi_1", n + ".wi_1"));
        } else {
            hidden = act.apply(linear(g, ckpt, x, p + ".wi", n + ".wi"));
        }
        return linear(g, ckpt, hidden, p + ".wo", n + ".wo");
    }

    /** x @ W^T for a bias-free torch Linear {@code name.weight}. */
    static String linear(GraphBuilder g, SafetensorsCheckpoint ckpt, String x, String name, String graphName) {
        if (!ckpt.has(name + ".weight")) {
            throw new IllegalArgumentException("checkpoint has no tensor " + name + ".weight");
        }
        return g.matMul(x, g.weight(graphName, Weight.of(ckpt, name + ".weight").transposed()));
    }

    /** [b, s, h*d] → [b, h, s, d]. */
    static String heads(GraphBuilder g, String x, T5Config config) {
        return g.transpose(g.reshape(x, 0, 0, config.numHeads(), config.dKv()), 0, 2, 1, 3);
    }

    static Weight checked(SafetensorsCheckpoint ckpt, String name, long... dims) {
        if (!ckpt.has(name)) {
            throw new IllegalArgumentException("checkpoint has no tensor " + name);
        }
        long[] shape = ckpt.info(name).shape();
        if (!Arrays.equals(shape, dims)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(shape) + ", config expects "
                    + Arrays.toString(dims));
        }
        return Weight.of(ckpt, name);
    }
}
