package dev.loupe.model.llm;

import static dev.loupe.model.llm.InstructBlipVicunaLanguageModelTest.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiny seeded random LLaMAs (grouped-query and multi-query attention, explicit head_dim, llama3 and linear RoPE
 * scaling, tied head, biases) against {@link ReferenceLlama}, and KV-cache consistency.
 */
class TinyLlamaDecoderTest {
    private static final double TOL = 1e-4;

    @TempDir
    static Path dir;

    private static final Map<String, Model> MODELS = new HashMap<>();

    /** A built variant: config, reference and runners. */
    private record Model(LlamaConfig config, ReferenceLlama reference, LanguageModelRunner runner,
                         LanguageModelRunner allPositions, LanguageModelRunner fused) {}

    @BeforeAll
    static void build() throws Exception {
        ObjectMapper json = new ObjectMapper();
        // GQA: 4 query heads share 2 kv heads; head_dim 8 != hidden / heads; llama3 rope scaling; untied head.
        ObjectNode gqa = json.createObjectNode().put("model_type", "llama").put("vocab_size", 40)
                .put("hidden_size", 24).put("intermediate_size", 40).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("head_dim", 8)
                .put("rms_norm_eps", 1e-5).put("rope_theta", 500.0).put("max_position_embeddings", 64)
                .put("hidden_act", "silu");
        gqa.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 16);
        // MQA: 2 query heads share 1 kv head; tied head; q/k/v/o and MLP biases; linear rope scaling.
        ObjectNode mqa = json.createObjectNode().put("model_type", "llama").put("vocab_size", 30)
                .put("hidden_size", 16).put("intermediate_size", 24).put("num_hidden_layers", 2)
                .put("num_attention_heads", 2).put("num_key_value_heads", 1).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0).put("attention_bias", true).put("mlp_bias", true)
                .put("tie_word_embeddings", true);
        mqa.putObject("rope_scaling").put("type", "linear").put("factor", 2.0);
        MODELS.put("gqa", create("gqa", gqa, 11));
        MODELS.put("mqa", create("mqa", mqa, 12));
        // GQA with head_dim 16, which the fused decoder (FusedLlamaGraphs) takes: 4 query heads over 2 kv heads,
        // biases, llama3 rope scaling; "gqa16-fused" is the same weights through the fused graph.
        ObjectNode gqa16 = gqa.deepCopy().put("hidden_size", 32).put("head_dim", 16).put("attention_bias", true)
                .put("mlp_bias", true);
        Model plain16 = create("gqa16", gqa16, 13);
        MODELS.put("gqa16", plain16);
        MODELS.put("gqa16-fused", new Model(plain16.config(), plain16.reference(), plain16.fused(), plain16.fused(),
                null));
    }

    @AfterAll
    static void close() throws Exception {
        for (Model m : MODELS.values()) {
            if (m.fused() != null || !m.runner().sharedBufferCache()) { // "-fused" variants share their runner
                m.runner().close();
                m.allPositions().close();
            }
            if (m.fused() != null) {
                m.fused().close();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa", "mqa", "gqa16", "gqa16-fused"})
    void greedyMatchesReferenceImplementation(String variant) throws Exception {
        Model m = MODELS.get(variant);
        float[][] prefix = randomEmbeddings(m.config(), 5, 100);
        int steps = 6;
        GeneratedSequence out = new GreedyGenerator(m.runner(), 0)
                .generate(List.<float[][]>of(prefix), GenerationConfig.greedy(steps), new int[0], true).get(0);

        List<double[]> seq = new ArrayList<>();
        for (float[] e : prefix) {
            seq.add(toDouble(e));
        }
        int[] expected = new int[steps];
        for (int s = 0; s < steps; s++) {
            double[] logits = m.reference().forward(seq.toArray(new double[0][]))[seq.size() - 1];
            float[] f = toFloat(logits);
            if (s == 0) {
                assertThat(maxAbsDiff(out.firstStepLogits(), f)).isLessThan(TOL);
            }
            expected[s] = GreedyGenerator.argmax(f, new int[0]);
            assertThat((double) out.stepLogProbs()[s]).isCloseTo(LogitsProcessors.logSoftmaxAt(f, expected[s]),
                    offset(TOL));
            seq.add(m.reference().embedding(expected[s]));
        }
        assertThat(out.tokenIds()).containsExactly(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa", "mqa"})
    void incrementalDecodingEqualsFullForward(String variant) throws Exception {
        Model m = MODELS.get(variant);
        LlamaConfig c = m.config();
        int hidden = c.hiddenSize();
        float[][] prefix = randomEmbeddings(c, 4, 200);
        long[] tokens = {3, 7, 1, 7, 5};
        int n = prefix.length + tokens.length;

        // One pass over the whole sequence, logits at every position.
        float[] all = new float[n * hidden];
        for (int t = 0; t < prefix.length; t++) {
            System.arraycopy(prefix[t], 0, all, t * hidden, hidden);
        }
        System.arraycopy(m.runner().embed(tokens, 1, tokens.length), 0, all, prefix.length * hidden,
                tokens.length * hidden);
        LanguageModelRunner.DecoderOutput full;
        try (KvCache empty = KvCache.empty(m.allPositions().environment(), c, 1)) {
            full = m.allPositions().decode(all, 1, n, ones(n), range(0, n), empty);
        }
        full.present().close();

        double[][] reference = m.reference().forward(rows(all, n, hidden));
        for (int t = 0; t < n; t++) {
            assertThat(maxAbsDiff(full.logits(0, t), toFloat(reference[t]))).as("position %d", t).isLessThan(TOL);
        }

        // Prefill the prefix, then one token at a time through the cache.
        KvCache cache = KvCache.empty(m.runner().environment(), c, 1);
        try {
            LanguageModelRunner.DecoderOutput step = m.runner().decode(
                    java.util.Arrays.copyOf(all, prefix.length * hidden), 1, prefix.length, ones(prefix.length),
                    range(0, prefix.length), cache);
            cache.close();
            cache = step.present();
            assertThat(maxAbsDiff(step.lastLogits(0), full.logits(0, prefix.length - 1))).isLessThan(TOL);
            for (int i = 0; i < tokens.length; i++) {
                int pos = prefix.length + i;
                step = m.runner().decode(java.util.Arrays.copyOfRange(all, pos * hidden, (pos + 1) * hidden), 1, 1,
                        ones(pos + 1), new long[] {pos}, cache);
                cache.close();
                cache = step.present();
                assertThat(cache.length()).isEqualTo(pos + 1);
                assertThat(maxAbsDiff(step.lastLogits(0), full.logits(0, pos))).as("step %d", i).isLessThan(TOL);
            }
        } finally {
            cache.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa", "mqa"})
    void leftPaddedBatchEqualsRowsAlone(String variant) throws Exception {
        Model m = MODELS.get(variant);
        GreedyGenerator gen = new GreedyGenerator(m.runner(), 0);
        List<float[][]> rows = List.of(randomEmbeddings(m.config(), 2, 300), randomEmbeddings(m.config(), 7, 301),
                randomEmbeddings(m.config(), 4, 302));
        GenerationConfig config = GenerationConfig.greedy(8);
        List<GeneratedSequence> alone = new ArrayList<>();
        for (float[][] r : rows) {
            alone.add(gen.generate(List.<float[][]>of(r), config, new int[0], true).get(0));
        }
        // The stop id is the token row 1 emits at step 2, so that rows leave the batch at different steps.
        int[] eos = {alone.get(1).tokenIds()[2]};
        alone.clear();
        for (float[][] r : rows) {
            alone.add(gen.generate(List.<float[][]>of(r), config, eos, true).get(0));
        }
        assertThat(alone.get(1).tokenIds()).hasSizeLessThanOrEqualTo(3);
        List<GeneratedSequence> batch = gen.generate(rows, config, eos, true);
        for (int r = 0; r < rows.size(); r++) {
            assertThat(batch.get(r).tokenIds()).as("row %d", r).containsExactly(alone.get(r).tokenIds());
            assertThat(maxAbsDiff(batch.get(r).firstStepLogits(), alone.get(r).firstStepLogits())).isLessThan(TOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa", "mqa", "gqa16", "gqa16-fused"})
    void candidateLogProbsMatchReferenceImplementation(String variant) throws Exception {
        Model m = MODELS.get(variant);
        float[][] prefix = randomEmbeddings(m.config(), 3, 400);
        List<int[]> candidates = List.of(new int[] {5}, new int[] {2, 9, 4, 1, 7}, new int[] {8, 8, 3});
        List<CandidateScorer.CandidateLogProbs> scores = new CandidateScorer(m.allPositions()).score(prefix, candidates);
        for (int c = 0; c < candidates.size(); c++) {
            int[] cand = candidates.get(c);
            List<double[]> seq = new ArrayList<>();
            for (float[] e : prefix) {
                seq.add(toDouble(e));
            }
            for (int j = 0; j + 1 < cand.length; j++) {
                seq.add(m.reference().embedding(cand[j]));
            }
            double[][] logits = m.reference().forward(seq.toArray(new double[0][]));
            double sum = 0;
            for (int j = 0; j < cand.length; j++) {
                double expected = LogitsProcessors.logSoftmaxAt(toFloat(logits[prefix.length - 1 + j]), cand[j]);
                sum += expected;
                assertThat((double) scores.get(c).tokenLogProbs()[j]).as("candidate %d token %d", c, j)
                        .isCloseTo(expected, offset(TOL));
            }
            assertThat(scores.get(c).sum()).isCloseTo(sum, offset(TOL * cand.length));
        }
    }

    // ---------------------------------------------------------------- model construction

    private static Model create(String name, ObjectNode json, long seed) throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(json);
        Random rnd = new Random(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        TinySafetensorsWriter writer = new TinySafetensorsWriter();
        int h = c.hiddenSize();
        int qDim = c.numAttentionHeads() * c.headDim();
        int kvDim = c.numKeyValueHeads() * c.headDim();
        put(writer, w, "model.embed_tokens.weight", normal(rnd, c.vocabSize() * h, 1.0), c.vocabSize(), h);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            put(writer, w, p + "input_layernorm.weight", around1(rnd, h), h);
            put(writer, w, p + "post_attention_layernorm.weight", around1(rnd, h), h);
            linear(writer, w, rnd, p + "self_attn.q_proj", qDim, h, c.attentionBias());
            linear(writer, w, rnd, p + "self_attn.k_proj", kvDim, h, c.attentionBias());
            linear(writer, w, rnd, p + "self_attn.v_proj", kvDim, h, c.attentionBias());
            linear(writer, w, rnd, p + "self_attn.o_proj", h, qDim, c.attentionBias());
            linear(writer, w, rnd, p + "mlp.gate_proj", c.intermediateSize(), h, c.mlpBias());
            linear(writer, w, rnd, p + "mlp.up_proj", c.intermediateSize(), h, c.mlpBias());
            linear(writer, w, rnd, p + "mlp.down_proj", h, c.intermediateSize(), c.mlpBias());
        }
        put(writer, w, "model.norm.weight", around1(rnd, h), h);
        if (!c.tieWordEmbeddings()) {
            put(writer, w, "lm_head.weight", normal(rnd, c.vocabSize() * h, 0.3), c.vocabSize(), h);
        }
        Path ckptDir = dir.resolve(name);
        writer.write(ckptDir.resolve("model.safetensors"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(ckptDir)) {
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "", c), ckptDir.resolve("embed.onnx"));
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, "", c, LlamaGraphs.LogitsMode.LAST_POSITION),
                    ckptDir.resolve("decoder.onnx"));
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, "", c, LlamaGraphs.LogitsMode.ALL_POSITIONS),
                    ckptDir.resolve("decoder_all.onnx"));
            if (FusedLlamaGraphs.supports(c)) {
                OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "", c), ckptDir.resolve("decoder_fused.onnx"));
            }
        }
        ReferenceLlama ref = new ReferenceLlama(w, c.vocabSize(), h, c.intermediateSize(), c.numHiddenLayers(),
                c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.rmsNormEps(), referenceInvFreq(json, c),
                c.attentionBias(), c.mlpBias(), c.tieWordEmbeddings());
        return new Model(c, ref,
                LanguageModelRunner.open(ckptDir.resolve("embed.onnx"), ckptDir.resolve("decoder.onnx"), c, 1),
                LanguageModelRunner.open(ckptDir.resolve("embed.onnx"), ckptDir.resolve("decoder_all.onnx"), c, 1),
                FusedLlamaGraphs.supports(c) ? LanguageModelRunner.open(ckptDir.resolve("embed.onnx"),
                        ckptDir.resolve("decoder_fused.onnx"), c, 1) : null);
    }

    /** transformers' rope init functions (default, linear, llama3) in double, independent of LlamaConfig. */
    private static double[] referenceInvFreq(ObjectNode json, LlamaConfig c) {
        int half = c.headDim() / 2;
        double theta = json.path("rope_theta").asDouble();
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, 2.0 * i / c.headDim());
        }
        var rs = json.path("rope_scaling");
        String type = rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("default");
        double factor = rs.path("factor").asDouble(1);
        for (int i = 0; i < half; i++) {
            if (type.equals("linear")) {
                inv[i] /= factor;
            } else if (type.equals("llama3")) {
                double old = rs.get("original_max_position_embeddings").asDouble();
                double low = rs.get("low_freq_factor").asDouble();
                double high = rs.get("high_freq_factor").asDouble();
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > old / low) {
                    inv[i] /= factor;
                } else if (wavelen >= old / high) {
                    double smooth = (old / wavelen - low) / (high - low);
                    inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    private static void linear(TinySafetensorsWriter writer, Map<String, float[]> w, Random rnd, String name,
                               int out, int in, boolean bias) {
        put(writer, w, name + ".weight", normal(rnd, out * in, 1.0 / Math.sqrt(in)), out, in);
        if (bias) {
            put(writer, w, name + ".bias", normal(rnd, out, 0.1), out);
        }
    }

    private static void put(TinySafetensorsWriter writer, Map<String, float[]> w, String name, float[] v,
                            long... shape) {
        writer.put(name, v, shape);
        w.put(name, v);
    }

    private static float[] normal(Random rnd, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * std);
        }
        return v;
    }

    private static float[] around1(Random rnd, int n) {
        float[] v = normal(rnd, n, 0.1);
        for (int i = 0; i < n; i++) {
            v[i] += 1f;
        }
        return v;
    }

    private static float[][] randomEmbeddings(LlamaConfig c, int len, long seed) {
        Random rnd = new Random(seed);
        float[][] e = new float[len][];
        for (int t = 0; t < len; t++) {
            e[t] = normal(rnd, c.hiddenSize(), 1.0);
        }
        return e;
    }

    private static double[][] rows(float[] flat, int n, int hidden) {
        double[][] out = new double[n][hidden];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < hidden; i++) {
                out[t][i] = flat[t * hidden + i];
            }
        }
        return out;
    }

    private static long[] ones(int n) {
        long[] v = new long[n];
        java.util.Arrays.fill(v, 1);
        return v;
    }

    private static long[] range(int from, int to) {
        long[] v = new long[to - from];
        for (int i = 0; i < v.length; i++) {
            v[i] = from + i;
        }
        return v;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
