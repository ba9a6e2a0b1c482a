package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationConfig.EarlyStopping;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Graphs;
import dev.loupe.model.t5.T5Runner;
import dev.loupe.model.t5.T5StepDecoder;
import dev.loupe.model.testing.WithoutTokenChoices;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@link TokenChoiceHead} tail on the fixtures' LLaMA (InstructBLIP-Vicuna), OPT (BLIP-2) and T5
 * (InstructBLIP-FlanT5) language models: its outputs are the logits' top ids and log_softmax, and generation that
 * picks from them (greedy, min_new_tokens, beam search, continuous batching) gives the same tokens, log-probs and
 * scores as the full-logits path on the same rows, which packages without the tail still take.
 */
class TokenChoiceHeadTest {
    /** Log-probs from ONNX Runtime's LogSoftmax against Java's double-accumulated one. */
    private static final float LOG_PROB_TOL = 1e-5f;

    @TempDir
    static Path dir;

    /** Per family: a decoder with the tail and the same decoder as an older package has it. */
    private record Pair(StepDecoder withChoices, StepDecoder withoutChoices, int vocab) {}

    private static final Map<String, Pair> MODELS = new TreeMap<>();
    private static final Map<String, LanguageModelRunner[]> RUNNERS = new TreeMap<>();

    @BeforeAll
    static void build() throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (String family : List.of("llama", "opt")) {
            Path fixture = fixture(family.equals("llama") ? "instructblip-vicuna" : "blip2-opt");
            DecoderConfig config = DecoderGraphs.config(json.readTree(fixture.resolve("config.json").toFile())
                    .path("text_config"));
            Path embed = dir.resolve(family + "-embed.onnx");
            Path decoder = dir.resolve(family + "-decoder.onnx");
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture)) {
                OnnxModelWriter.write(DecoderGraphs.tokenEmbedding(ckpt, "language_model.", config), embed);
                OnnxModelWriter.write(DecoderGraphs.decoder(ckpt, "language_model.", config,
                        LlamaGraphs.LogitsMode.SELECTABLE), decoder);
            }
            Path old = WithoutTokenChoices.write(decoder, dir.resolve(family + "-decoder-old.onnx"));
            LanguageModelRunner fresh = LanguageModelRunner.open(embed, decoder, config, 1);
            LanguageModelRunner before = LanguageModelRunner.open(embed, old, config, 1);
            RUNNERS.put(family, new LanguageModelRunner[] {fresh, before});
            MODELS.put(family, new Pair(new PrefixStepDecoder(fresh, 1), new PrefixStepDecoder(before, 1),
                    config.vocabSize()));
        }
        Path fixture = fixture("instructblip-flant5");
        T5Config t5 = T5Config.fromJson(json.readTree(fixture.resolve("config.json").toFile()).path("text_config"));
        Path embed = dir.resolve("t5-embed.onnx");
        Path encoder = dir.resolve("t5-encoder.onnx");
        Path decoder = dir.resolve("t5-decoder.onnx");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture)) {
            OnnxModelWriter.write(T5Graphs.tokenEmbedding(ckpt, "language_model.", t5), embed);
            OnnxModelWriter.write(T5Graphs.encoder(ckpt, "language_model.", t5), encoder);
            OnnxModelWriter.write(T5Graphs.decoder(ckpt, "language_model.", t5), decoder);
        }
        Path old = WithoutTokenChoices.write(decoder, dir.resolve("t5-decoder-old.onnx"));
        RuntimeOptions one = RuntimeOptions.cpu(1);
        MODELS.put("t5", new Pair(new T5StepDecoder(T5Runner.open(embed, encoder, decoder, t5, one)),
                new T5StepDecoder(T5Runner.open(embed, encoder, old, t5, one)), t5.vocabSize()));
    }

    @AfterAll
    static void close() throws Exception {
        for (Pair p : MODELS.values()) {
            p.withChoices().close();
            p.withoutChoices().close();
        }
    }

    private static Path fixture(String name) {
        return Path.of(System.getProperty("loupe.fixtures"), "hf-reference", name, "checkpoint");
    }

    @Test
    void packagesWithoutTheTailAreDetected() {
        for (Pair p : MODELS.values()) {
            assertThat(p.withChoices().offersChoices()).isTrue();
            assertThat(p.withoutChoices().offersChoices()).isFalse();
        }
        assertThatThrownBy(() -> MODELS.get("llama").withoutChoices().start(prefixes(MODELS.get("llama"), 1),
                StepOutputs.choices(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no token-choice outputs");
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "opt", "t5"})
    void choicesAreTheLogitsTopIdsAndTheirLogSoftmax(String family) throws Exception {
        Pair m = MODELS.get(family);
        int k = 9;
        List<float[][]> inputs = prefixes(m, 3);
        try (DecodingState both = m.withChoices().start(inputs, new StepOutputs(true, k))) {
            assertThat(both.choiceCount()).isEqualTo(k);
            int[] ids = new int[k];
            float[] logProbs = new float[k];
            for (int r = 0; r < inputs.size(); r++) {
                float[] logits = both.lastLogits(r);
                both.lastChoices(r, ids, logProbs);
                // torch.topk / argmax order: largest first, ties to the lower id
                int[] expected = IntStream.range(0, logits.length).boxed()
                        .sorted(Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i))
                        .limit(k).mapToInt(Integer::intValue).toArray();
                assertThat(ids).as("row %d", r).containsExactly(expected);
                assertThat(ids[0]).isEqualTo(LogitsProcessors.argmax(logits));
                float[] full = LogitsProcessors.logSoftmax(logits);
                for (int j = 0; j < k; j++) {
                    assertThat(logProbs[j]).as("row %d choice %d", r, j).isCloseTo(full[ids[j]],
                            offset(LOG_PROB_TOL));
                }
            }
            // the next step, choices only: no logits cross into Java
            try (DecodingState next = both.next(new int[] {2, 0}, new long[] {ids[0], ids[1]}, 1,
                    StepOutputs.choices(3))) {
                assertThat(next.hasLogits()).isFalse();
                assertThat(next.choiceCount()).isEqualTo(3);
                assertThatThrownBy(() -> next.lastLogits(0)).isInstanceOf(IllegalStateException.class);
            }
        }
    }

    @Test
    void aStepCopiesTwelveBytesPerChoiceInsteadOfTheLogits() throws Exception {
        LanguageModelRunner runner = RUNNERS.get("llama")[0];
        int vocab = runner.config().vocabSize();
        int batch = 4;
        int hidden = runner.config().hiddenSize();
        float[] embeds = new float[batch * 2 * hidden];
        for (int i = 0; i < embeds.length; i++) {
            embeds[i] = (float) Math.sin(i * 0.37) * 0.05f;
        }
        long[] mask = new long[batch * 2];
        java.util.Arrays.fill(mask, 1);
        long[] positions = new long[batch * 2];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % 2;
        }
        LanguageModelRunner.StepBuffers buffers = new LanguageModelRunner.StepBuffers();
        for (StepOutputs outputs : List.of(StepOutputs.LOGITS, StepOutputs.choices(1), StepOutputs.choices(5))) {
            try (KvCache empty = KvCache.empty(runner.environment(), runner.config(), batch)) {
                LanguageModelRunner.DecoderOutput out = runner.decode(embeds, batch, 2, mask, positions, empty, 1,
                        buffers, outputs);
                out.present().close();
                long expected = outputs.logits() ? (long) batch * vocab * Float.BYTES
                        : (long) batch * outputs.choices() * (Long.BYTES + Float.BYTES);
                assertThat(out.outputBytes()).as("%s", outputs).isEqualTo(expected);
                assertThat(out.hasLogits()).isEqualTo(outputs.logits());
            }
        }
    }

    /** The settings under test: served by the choices (greedy, min_new_tokens, beams) and not (penalty, sampling). */
    private static List<GenerationConfig> configs() {
        return List.of(GenerationConfig.greedy(9),
                GenerationConfig.greedy(9).withMinNewTokens(6),
                GenerationConfig.greedy(8).withBeams(3, 2).withMinNewTokens(3),
                GenerationConfig.greedy(7).withBeams(4, 4).withLengthPenalty(0.6)
                        .withEarlyStopping(EarlyStopping.TRUE),
                GenerationConfig.greedy(7).withBeams(2, 1).withEarlyStopping(EarlyStopping.NEVER),
                GenerationConfig.greedy(8).withRepetitionPenalty(1.4),
                GenerationConfig.greedy(8).withSampling(true, 0.9, 12, 0.9).withSeed(5));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "opt", "t5"})
    void generationFromChoicesEqualsTheFullLogitsPath(String family) throws Exception {
        Pair m = MODELS.get(family);
        List<float[][]> inputs = prefixes(m, 3);
        List<int[]> context = new ArrayList<>();
        for (int r = 0; r < inputs.size(); r++) {
            context.add(m.withChoices().penaltyContext(new int[] {1 + r, 4}));
        }
        long[] seeds = {11, 12, 13};
        // end ids the rows actually meet: row 0's first two unconstrained greedy tokens
        int[] first = new TextGenerator(m.withoutChoices()).generate(List.<float[][]>of(inputs.get(0)), List.<int[]>of(context.get(0)),
                GenerationConfig.greedy(2), new long[1], new int[0]).get(0).get(0).tokenIds();
        int[] eos = {first[0], first[1]};
        int served = 0;
        for (GenerationConfig config : configs()) {
            if (TokenChoices.needed(config, eos.length, m.vocab()) > 0) {
                served++;
            }
            List<List<GeneratedSequence>> fromChoices = new TextGenerator(m.withChoices())
                    .generate(inputs, context, config, seeds, eos);
            List<List<GeneratedSequence>> fromLogits = new TextGenerator(m.withoutChoices())
                    .generate(inputs, context, config, seeds, eos);
            for (int r = 0; r < inputs.size(); r++) {
                assertSame(fromChoices.get(r), fromLogits.get(r), family + " " + config + " row " + r);
            }
        }
        assertThat(served).isEqualTo(5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "opt"})
    void continuousBatchingFromChoicesEqualsTheFullLogitsPath(String family) throws Exception {
        Pair m = MODELS.get(family);
        LanguageModelRunner[] runners = RUNNERS.get(family);
        List<float[][]> inputs = prefixes(m, 4);
        int[] eos = {5};
        List<GenerationConfig> configs = List.of(GenerationConfig.greedy(9), GenerationConfig.greedy(6)
                .withMinNewTokens(4), GenerationConfig.greedy(8).withRepetitionPenalty(1.3),
                GenerationConfig.greedy(7).withSampling(true, 0.8, 0, 0.95).withSeed(3));
        List<Map<Integer, GeneratedSequence>> results = new ArrayList<>();
        for (LanguageModelRunner runner : runners) {
            Map<Integer, GeneratedSequence> got = new TreeMap<>();
            try (ContinuousBatch<Integer> batch = new ContinuousBatch<>(runner, 1, eos, false)) {
                for (int r = 0; r < inputs.size(); r++) { // one joins per step: mixed settings in every run
                    for (ContinuousBatch.Finished<Integer> f : batch.admit(List.of(new ContinuousBatch.Joining<>(r,
                            inputs.get(r), new int[] {2, 3}, configs.get(r))))) {
                        got.put(f.tag(), f.sequence());
                    }
                    for (ContinuousBatch.Finished<Integer> f : batch.step(r < inputs.size() - 1)) {
                        got.put(f.tag(), f.sequence());
                    }
                }
                while (batch.size() > 0) {
                    batch.step().forEach(f -> got.put(f.tag(), f.sequence()));
                }
            }
            results.add(got);
        }
        assertThat(results.get(0)).hasSize(inputs.size());
        for (int r = 0; r < inputs.size(); r++) {
            assertSame(List.of(results.get(0).get(r)), List.of(results.get(1).get(r)), family + " row " + r);
        }
    }

    private static void assertSame(List<GeneratedSequence> got, List<GeneratedSequence> expected, String what) {
        assertThat(got).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
            GeneratedSequence a = got.get(i);
            GeneratedSequence b = expected.get(i);
            assertThat(a.tokenIds()).as(what + " sequence " + i).containsExactly(b.tokenIds());
            assertThat(a.stepLogProbs()).as(what + " sequence " + i)
                    .containsExactly(b.stepLogProbs(), offset(LOG_PROB_TOL));
            assertThat(a.score()).as(what + " sequence " + i).isCloseTo(b.score(), offset(1e-5));
            assertThat(a.sumLogProb()).as(what + " sequence " + i).isCloseTo(b.sumLogProb(), offset(1e-4));
        }
    }

    /** {@code n} inputs of different lengths: embeddings of seeded random token ids. */
    private static List<float[][]> prefixes(Pair m, int n) throws Exception {
        Random random = new Random(42);
        int width = m.withChoices().inputWidth();
        List<float[][]> out = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int len = 3 + (r * 5) % 7;
            long[] ids = random.longs(len, 0, m.vocab()).toArray();
            float[] flat = m.withChoices().embed(ids, 1, len);
            float[][] rows = new float[len][];
            for (int t = 0; t < len; t++) {
                rows[t] = java.util.Arrays.copyOfRange(flat, t * width, (t + 1) * width);
            }
            out.add(rows);
        }
        return out;
    }
}
