package dev.loupe.model.llm;

import static dev.loupe.model.testing.HfFixture.ints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Parity of the language side with transformers on the tiny InstructBLIP-Vicuna fixture: the LLM input is the
 * fixture's language projection output followed by the prompt's token embeddings, as InstructBLIP builds it.
 */
class InstructBlipVicunaLanguageModelTest {
    private static final double TOL = 1e-4;
    private static final int QUERY_TOKENS = 8;

    @TempDir
    static Path dir;

    private static JsonNode reference;
    private static HfFixture tensors;
    private static LlamaConfig config;
    private static LanguageModelRunner runner;
    private static LanguageModelRunner allPositionsRunner;
    private static LanguageModelRunner selectableRunner;
    /** The fused decoder ({@link FusedLlamaGraphs}): every generation test runs on both decoders. */
    private static LanguageModelRunner fusedRunner;
    /** The fused decoder through the device-bound runner (IoBinding, the cache in the provider's memory: CPU here). */
    private static DeviceBoundDecoder deviceBound;
    private static GreedyGenerator generator;
    private static GreedyGenerator fusedGenerator;
    private static GreedyGenerator deviceBoundGenerator;

    /** The decoders every generation test runs on: plain and fused graphs through the Java API, fused device-bound. */
    enum Decoder { PLAIN, FUSED, DEVICE_BOUND }
    private static int eos;

    @BeforeAll
    static void buildModels() throws Exception {
        Path fixture = Path.of(System.getProperty("loupe.fixtures"), "hf-reference", "instructblip-vicuna");
        ObjectMapper json = new ObjectMapper();
        reference = json.readTree(fixture.resolve("reference.json").toFile());
        tensors = HfFixture.VICUNA;
        config = LlamaConfig.fromJson(json.readTree(fixture.resolve("checkpoint/config.json").toFile())
                .path("text_config"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture.resolve("checkpoint"))) {
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "language_model.", config), dir.resolve("embed.onnx"));
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, "language_model.", config,
                    LlamaGraphs.LogitsMode.LAST_POSITION), dir.resolve("decoder.onnx"));
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, "language_model.", config,
                    LlamaGraphs.LogitsMode.ALL_POSITIONS), dir.resolve("decoder_all.onnx"));
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, "language_model.", config,
                    LlamaGraphs.LogitsMode.SELECTABLE), dir.resolve("decoder_selectable.onnx"));
            OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "language_model.", config),
                    dir.resolve("decoder_fused.onnx"));
        }
        runner = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("decoder.onnx"), config, 1);
        allPositionsRunner = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("decoder_all.onnx"),
                config, 1);
        selectableRunner = LanguageModelRunner.open(dir.resolve("embed.onnx"),
                dir.resolve("decoder_selectable.onnx"), config, 1);
        fusedRunner = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("decoder_fused.onnx"),
                config, 1);
        generator = new GreedyGenerator(runner, reference.path("special_ids").path("pad").asLong());
        fusedGenerator = new GreedyGenerator(fusedRunner, reference.path("special_ids").path("pad").asLong());
        deviceBound = DeviceBoundDecoder.open(dir.resolve("embed.onnx"), dir.resolve("decoder_fused.onnx"), config,
                reference.path("special_ids").path("pad").asLong(), RuntimeOptions.cpu(1));
        deviceBoundGenerator = new GreedyGenerator(deviceBound);
        eos = reference.path("special_ids").path("eos").asInt();
    }

    @AfterAll
    static void close() throws Exception {
        runner.close();
        allPositionsRunner.close();
        selectableRunner.close();
        fusedRunner.close();
        deviceBound.close();
    }

    private static GreedyGenerator generator(Decoder d) {
        return switch (d) {
            case PLAIN -> generator;
            case FUSED -> fusedGenerator;
            case DEVICE_BOUND -> deviceBoundGenerator;
        };
    }

    private static ContinuousDecoder decoder(Decoder d) {
        return switch (d) {
            case PLAIN -> new PrefixStepDecoder(runner, padId());
            case FUSED -> new PrefixStepDecoder(fusedRunner, padId());
            case DEVICE_BOUND -> deviceBound;
        };
    }

    @Test
    void configIsReadFromTextConfig() {
        assertThat(config.hiddenSize()).isEqualTo(64);
        assertThat(config.numHiddenLayers()).isEqualTo(2);
        assertThat(config.numKeyValueHeads()).isEqualTo(4);
        assertThat(config.headDim()).isEqualTo(16);
        assertThat(config.rmsNormEps()).isEqualTo(1e-6);
        assertThat(config.tieWordEmbeddings()).isFalse();
        assertThat(config.ropeScaling()).isEqualTo(LlamaConfig.RopeScaling.NONE);
        assertThat(runner.allPositionLogits()).isFalse();
        assertThat(allPositionsRunner.allPositionLogits()).isTrue();
    }

    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void singleRowMatchesTransformers(Decoder fused) throws Exception {
        JsonNode single = reference.path("single");
        GeneratedSequence out = generator(fused).generate(List.<float[][]>of(singlePrefix()), GenerationConfig.greedy(12),
                new int[] {eos}, true).get(0);

        assertThat(maxAbsDiff(out.firstStepLogits(), tensors.tensor("single.first_step_logits"))).isLessThan(TOL);
        assertThat(maxAbsDiff(out.firstStepLogits(), floats(single.path("first_step_logits").path("values"))))
                .isLessThan(TOL);
        assertThat(out.tokenIds()).containsExactly(ints(single.path("greedy").path("new_token_ids")));
        JsonNode steps = single.path("greedy").path("steps");
        double sum = 0;
        for (int i = 0; i < steps.size(); i++) {
            double lp = steps.get(i).path("logprob").asDouble();
            sum += lp;
            assertThat((double) out.stepLogProbs()[i]).isCloseTo(lp, org.assertj.core.data.Offset.offset(TOL));
        }
        assertThat(out.sumLogProb()).isCloseTo(sum, org.assertj.core.data.Offset.offset(TOL * steps.size()));
        assertThat(out.score()).isCloseTo(sum / steps.size(), org.assertj.core.data.Offset.offset(TOL));
    }

    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void paddedBatchMatchesTransformersRows(Decoder fused) throws Exception {
        List<float[][]> rows = batchPrefixes();
        List<GeneratedSequence> out = generator(fused).generate(rows, GenerationConfig.greedy(12), new int[] {eos}, true);
        JsonNode expected = reference.path("batch").path("greedy").path("rows");
        for (int r = 0; r < rows.size(); r++) {
            assertThat(out.get(r).tokenIds()).as("row %d", r)
                    .containsExactly(ints(expected.get(r).path("new_token_ids")));
            assertThat(maxAbsDiff(out.get(r).firstStepLogits(), tensors.tensor("batch.first_step_logits." + r)))
                    .as("row %d", r).isLessThan(TOL);
            JsonNode steps = expected.get(r).path("steps");
            for (int i = 0; i < steps.size(); i++) {
                assertThat((double) out.get(r).stepLogProbs()[i]).isCloseTo(steps.get(i).path("logprob").asDouble(),
                        org.assertj.core.data.Offset.offset(TOL));
            }
        }
    }

    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void rowsAreBatchInvariantInAnySizeAndOrder(Decoder fused) throws Exception {
        List<float[][]> rows = new ArrayList<>(batchPrefixes());
        rows.add(singlePrefix());
        // 348 as end-of-sequence makes rows stop at different steps (3, 7, 10, never), exercising row dropping.
        int[] stop = {348};
        GenerationConfig gen = GenerationConfig.greedy(12);
        List<GeneratedSequence> alone = new ArrayList<>();
        for (float[][] row : rows) {
            alone.add(generator(fused).generate(List.<float[][]>of(row), gen, stop, true).get(0));
        }
        assertThat(alone.get(3).tokenIds()).containsExactly(297, 327, 291, 348);
        assertThat(alone.get(0).tokenIds()).hasSize(8).endsWith(348);
        assertThat(alone.get(2).tokenIds()).hasSize(12);

        for (int[] order : orders(rows.size())) {
            List<float[][]> batch = new ArrayList<>();
            for (int r : order) {
                batch.add(rows.get(r));
            }
            List<GeneratedSequence> out = generator(fused).generate(batch, gen, stop, true);
            for (int i = 0; i < order.length; i++) {
                GeneratedSequence a = alone.get(order[i]);
                GeneratedSequence b = out.get(i);
                String what = "row " + order[i] + " in batch " + Arrays.toString(order);
                assertThat(b.tokenIds()).as(what).containsExactly(a.tokenIds());
                assertThat(maxAbsDiff(b.firstStepLogits(), a.firstStepLogits())).as(what).isLessThan(TOL);
                assertThat(b.score()).as(what).isCloseTo(a.score(), org.assertj.core.data.Offset.offset(TOL));
            }
        }
    }

    /**
     * Continuous batching: rows joining a decoding batch at different steps (left as others finish, so the cache is
     * repacked with rows of different lengths) give their alone results: greedy ids identical, first-step logits
     * and scores within the batch-invariance tolerance; sampling with its own seed and a repetition penalty, and
     * per-row max/min new tokens, included.
     */
    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void rowsJoiningMidwayEqualTheirAloneResults(Decoder fused) throws Exception {
        List<float[][]> prefixes = new ArrayList<>(batchPrefixes());
        prefixes.add(singlePrefix());
        int[] stop = {348};
        List<GenerationConfig> configs = List.of(GenerationConfig.greedy(12), GenerationConfig.greedy(5),
                GenerationConfig.greedy(12).withMinNewTokens(9).withRepetitionPenalty(1.3),
                GenerationConfig.greedy(10).withSampling(true, 0.8, 20, 0.95).withSeed(7));
        // each (prefix, config) pair as a request; its alone result through the static loop
        List<ContinuousBatch.Joining<Integer>> requests = new ArrayList<>();
        List<GeneratedSequence> alone = new ArrayList<>();
        for (int c = 0; c < configs.size(); c++) {
            for (int p = 0; p < prefixes.size(); p++) {
                int[] context = {1, 297, 327};
                requests.add(new ContinuousBatch.Joining<>(requests.size(), prefixes.get(p), context, configs.get(c)));
                alone.add(new SamplingGenerator(decoder(fused)).generate(
                        List.of(VisualPrefix.onHost(prefixes.get(p))), List.of(context), configs.get(c),
                        new long[] {configs.get(c).seed()}, stop, true).get(0).get(0));
            }
        }
        assertThat(alone.get(3).tokenIds()).containsExactly(297, 327, 291, 348); // rows end at different steps
        assertThat(alone.get(2).tokenIds()).hasSize(12);

        // by hand: joins after 0, 2 and 5 steps, one admission of two rows of different prefix lengths, then the
        // rows finish one by one
        List<ContinuousBatch.Finished<Integer>> finished = new ArrayList<>();
        GenerationClock clock = new GenerationClock();
        int steps = 5;
        try (ContinuousBatch<Integer> batch = decoder(fused).<Integer>continuousBatch(stop, true, clock)) {
            finished.addAll(batch.admit(List.of(requests.get(2))));
            for (int s = 0; s < 2; s++) {
                finished.addAll(batch.step());
            }
            finished.addAll(batch.admit(List.of(requests.get(3), requests.get(8))));
            for (int s = 0; s < 3; s++) {
                finished.addAll(batch.step());
            }
            assertThat(finished).extracting(ContinuousBatch.Finished::tag).containsExactly(3);
            finished.addAll(batch.admit(List.of(requests.get(13))));
            while (batch.size() > 0) {
                steps++;
                finished.addAll(batch.step(true)); // finished rows' slots stay, unused, while others decode
            }
        }
        assertThat(finished).extracting(ContinuousBatch.Finished::tag).containsExactlyInAnyOrder(2, 3, 8, 13);
        for (ContinuousBatch.Finished<Integer> f : finished) {
            assertSameAsAlone(f.sequence(), alone.get(f.tag()), "request " + f.tag());
        }
        // the clock saw three prefills of four rows, and every token after a row's first came from a shared step
        dev.loupe.model.api.GenerationSplit split = clock.snapshot();
        assertThat(split.prefillRuns()).isEqualTo(3);
        assertThat(split.prefillRows()).isEqualTo(4);
        assertThat(split.stepRows()).isEqualTo(finished.stream().mapToLong(f -> f.sequence().tokenIds().length - 1).sum());
        assertThat(split.steps()).isEqualTo(steps);
        assertThat(split.stepNanos()).isPositive();
        assertThat(split.prefillNanos()).isPositive();

        // through the scheduler, at most 3 rows at once, in two orders
        for (boolean reversed : new boolean[] {false, true}) {
            java.util.ArrayDeque<Integer> waiting = new java.util.ArrayDeque<>();
            for (int i = 0; i < requests.size(); i++) {
                waiting.add(reversed ? requests.size() - 1 - i : i);
            }
            GeneratedSequence[] got = new GeneratedSequence[requests.size()];
            List<Integer> order = new ArrayList<>();
            try (ContinuousBatch<Integer> batch = decoder(fused).<Integer>continuousBatch(stop, true)) {
                new DecodeScheduler<Integer>(3, 1).run(batch, waiting,
                        group -> group.stream().map(requests::get).toList(), f -> {
                            got[f.tag()] = f.sequence();
                            order.add(f.tag());
                        });
            }
            assertThat(order).hasSize(requests.size()).doesNotHaveDuplicates();
            for (int i = 0; i < got.length; i++) {
                assertSameAsAlone(got[i], alone.get(i), "request " + i + (reversed ? " (reversed)" : ""));
            }
        }
    }

    private static void assertSameAsAlone(GeneratedSequence got, GeneratedSequence alone, String what) {
        assertThat(got.tokenIds()).as(what).containsExactly(alone.tokenIds());
        assertThat(maxAbsDiff(got.firstStepLogits(), alone.firstStepLogits())).as(what).isLessThan(TOL);
        assertThat(got.score()).as(what).isCloseTo(alone.score(), org.assertj.core.data.Offset.offset(TOL));
    }

    private static long padId() {
        return reference.path("special_ids").path("pad").asLong();
    }

    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void minNewTokensSuppressesEndOfSequence(Decoder fused) throws Exception {
        GeneratedSequence out = generator(fused).generate(List.<float[][]>of(singlePrefix()),
                GenerationConfig.greedy(8).withMinNewTokens(6), new int[] {348}, false).get(0);
        assertThat(out.tokenIds()).startsWith(297, 327, 291);
        assertThat(out.tokenIds()[3]).isNotEqualTo(348);
        assertThat(Arrays.copyOf(out.tokenIds(), 6)).doesNotContain(348);
        assertThat(out.firstStepLogits()).isNull();
        assertThat(out.score()).isEqualTo(out.sumLogProb() / out.tokenIds().length);
    }

    @Test
    void allPositionsGraphAgreesAndLeftPaddingGivesNoNaN() throws Exception {
        float[][] single = singlePrefix();
        float[][] shorter = batchPrefixes().get(0);
        int hidden = config.hiddenSize();
        int len = single.length;
        int pad = len - shorter.length;
        float[] embeds = new float[2 * len * hidden];
        long[] mask = new long[2 * len];
        long[] positions = new long[2 * len];
        for (int t = 0; t < len; t++) {
            System.arraycopy(single[t], 0, embeds, t * hidden, hidden);
            mask[t] = 1;
            positions[t] = t;
            int at = len + t;
            if (t >= pad) {
                System.arraycopy(shorter[t - pad], 0, embeds, at * hidden, hidden);
                mask[at] = 1;
                positions[at] = t - pad;
            } else {
                positions[at] = 1;
            }
        }
        try (KvCache empty = KvCache.empty(allPositionsRunner.environment(), config, 2)) {
            LanguageModelRunner.DecoderOutput out = allPositionsRunner.decode(embeds, 2, len, mask, positions, empty);
            try (KvCache present = out.present()) {
                assertThat(out.positions()).isEqualTo(len);
                assertThat(present.length()).isEqualTo(len);
                for (float v : out.logits()) {
                    assertThat(Float.isFinite(v)).isTrue();
                }
                assertThat(maxAbsDiff(out.lastLogits(0), tensors.tensor("single.first_step_logits"))).isLessThan(TOL);
                assertThat(maxAbsDiff(out.lastLogits(1), tensors.tensor("batch.first_step_logits.0"))).isLessThan(TOL);
            }
        }
    }

    @Test
    void selectableGraphServesGreedyGeneration() throws Exception {
        assertThat(selectableRunner.allPositionLogits()).isFalse();
        assertThat(selectableRunner.supportsAllPositions()).isTrue();
        GeneratedSequence out = new GreedyGenerator(selectableRunner, 384).generate(
                List.<float[][]>of(singlePrefix()), GenerationConfig.greedy(12), new int[] {eos}, true).get(0);
        assertThat(out.tokenIds()).containsExactly(ints(reference.path("single").path("greedy").path("new_token_ids")));
        assertThat(maxAbsDiff(out.firstStepLogits(), tensors.tensor("single.first_step_logits"))).isLessThan(TOL);
    }

    @Test
    void candidateLogProbsMatchTransformersGreedySteps() throws Exception {
        JsonNode greedy = reference.path("single").path("greedy");
        int[] ids = ints(greedy.path("new_token_ids"));
        float[] firstLogits = tensors.tensor("single.first_step_logits");
        List<int[]> candidates = List.of(ids, Arrays.copyOf(ids, 3), new int[] {eos}, new int[] {ids[0], eos});
        List<CandidateScorer> scorers = List.of(new CandidateScorer(allPositionsRunner),
                new CandidateScorer(selectableRunner), new CandidateScorer(fusedRunner), new CandidateScorer(deviceBound));
        for (CandidateScorer scorer : scorers) {
            List<CandidateScorer.CandidateLogProbs> scores = scorer.score(singlePrefix(), candidates);
            double sum = 0;
            for (int i = 0; i < ids.length; i++) {
                double lp = greedy.path("steps").get(i).path("logprob").asDouble();
                sum += lp;
                assertThat((double) scores.get(0).tokenLogProbs()[i]).isCloseTo(lp,
                        org.assertj.core.data.Offset.offset(TOL));
            }
            assertThat(scores.get(0).sum()).isCloseTo(sum, org.assertj.core.data.Offset.offset(TOL * ids.length));
            assertThat(scores.get(1).tokenLogProbs())
                    .containsExactly(Arrays.copyOf(scores.get(0).tokenLogProbs(), 3), org.assertj.core.data.Offset.offset(1e-5f));
            assertThat((double) scores.get(2).tokenLogProbs()[0]).isCloseTo(
                    LogitsProcessors.logSoftmaxAt(firstLogits, eos), org.assertj.core.data.Offset.offset(TOL));
            assertThat(scores.get(3).tokenLogProbs()[0]).isCloseTo(scores.get(0).tokenLogProbs()[0],
                    org.assertj.core.data.Offset.offset(1e-5f));
        }
        assertThatThrownBy(() -> new CandidateScorer(runner)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The device-bound runner's host traffic: a decode step moves the same bytes whatever the context length (the
     * KV cache never crosses); asking for token choices moves k ids and log-probs per row, not the logits.
     */
    @Test
    void deviceBoundStepTrafficDoesNotGrowWithTheContext() throws Exception {
        float[][] shortPrefix = Arrays.copyOf(singlePrefix(), 3);
        float[][] longPrefix = new float[40][];
        for (int t = 0; t < longPrefix.length; t++) {
            longPrefix[t] = singlePrefix()[t % singlePrefix().length];
        }
        long[] perStep = new long[2];
        int i = 0;
        for (float[][] prefix : List.of(shortPrefix, longPrefix)) {
            try (DecodingState start = deviceBound.start(List.<float[][]>of(prefix, prefix), StepOutputs.choices(2))) {
                DecodingState state = start;
                long[] first = null;
                for (int step = 0; step < 12; step++) { // past the cache's first capacity step for the long prefix
                    dev.loupe.model.api.HostTrafficStats before = deviceBound.trafficStats();
                    state = state.next(new int[] {0, 1}, new long[] {5, 7}, 1, StepOutputs.choices(2));
                    dev.loupe.model.api.HostTrafficStats moved = deviceBound.trafficStats().since(before);
                    assertThat(moved.steps()).isEqualTo(1);
                    long[] bytes = {moved.stepToDevice(), moved.stepToHost()};
                    if (first == null) {
                        first = bytes;
                    }
                    assertThat(bytes).as("step %d", step).containsExactly(first);
                }
                state.close();
                perStep[i++] = first[0] + first[1];
                // ids (8) + seqlens_k (4) + logits position (8) per row, total length (4) and choice count (8) in;
                // 2 choices of (8 + 4) bytes per row out
                assertThat(first).containsExactly(2 * (8 + 4 + 8) + 4 + 8, 2 * 2 * (8 + 4));
            }
        }
        assertThat(perStep[1]).isEqualTo(perStep[0]);
        dev.loupe.model.api.HostTrafficStats before = deviceBound.trafficStats();
        try (DecodingState s = deviceBound.start(List.<float[][]>of(shortPrefix), StepOutputs.LOGITS)) {
            dev.loupe.model.api.HostTrafficStats moved = deviceBound.trafficStats().since(before);
            assertThat(moved.prefills()).isEqualTo(1);
            assertThat(moved.prefillToDevice()).isGreaterThanOrEqualTo(3L * config.hiddenSize() * Float.BYTES);
            assertThat(moved.prefillToHost()).isEqualTo((long) config.vocabSize() * Float.BYTES);
        }
    }

    /**
     * A generation longer than the cache's first capacity grows it on the device (regather + pad) mid-way, and beams
     * reorder its slots there: the tokens and log-probs stay those of the Java API's fused runner.
     */
    /**
     * The device-bound prefill of prefixes whose image part is in device blocks (CPU memory here) — rows from two
     * blocks, out of block order, one row with no prompt rows after its image part — gives the logits of the same
     * prefixes as host rows bit for bit, and sends only the prompt rows (right-padded with the pad embedding) and one
     * gather index per row besides the decoder's inputs; each block is freed when its last prefix closes.
     */
    @Test
    void deviceBoundPrefillReadsImagePartsInDeviceBlocksAsHostRows() throws Exception {
        List<float[][]> rows = batchPrefixes();
        rows.add(Arrays.copyOf(rows.get(1), QUERY_TOKENS)); // the image part alone
        int hidden = config.hiddenSize();
        int[] blockOf = {0, 0, 1, 1}; // two runs of the prefill graph, rows out of their block's order
        int[] indexOf = {1, 0, 0, 1};
        java.util.concurrent.atomic.AtomicInteger freed = new java.util.concurrent.atomic.AtomicInteger();
        List<VisualPrefix> onDevice = new ArrayList<>();
        long promptFloats = 0;
        org.bytedeco.javacpp.FloatPointer[] memory = new org.bytedeco.javacpp.FloatPointer[2];
        DeviceRows[] blocks = new DeviceRows[2];
        for (int b = 0; b < 2; b++) {
            memory[b] = new org.bytedeco.javacpp.FloatPointer(2L * QUERY_TOKENS * hidden);
            org.bytedeco.javacpp.FloatPointer m = memory[b];
            blocks[b] = new DeviceRows(m, 2, QUERY_TOKENS, hidden, () -> {
                m.close();
                freed.incrementAndGet();
            });
        }
        for (int r = 0; r < rows.size(); r++) {
            float[][] p = rows.get(r);
            for (int t = 0; t < QUERY_TOKENS; t++) {
                memory[blockOf[r]].position(((long) indexOf[r] * QUERY_TOKENS + t) * hidden).put(p[t]);
            }
            float[][] after = Arrays.copyOfRange(p, QUERY_TOKENS, p.length);
            promptFloats += (long) after.length * hidden;
            onDevice.add(VisualPrefix.onDevice(blocks[blockOf[r]], indexOf[r], after));
        }
        memory[0].position(0);
        memory[1].position(0);
        blocks[0].release();
        blocks[1].release();

        DecodingState host = deviceBound.start(rows, StepOutputs.LOGITS);
        HostTrafficStats before = deviceBound.trafficStats();
        DecodingState device = deviceBound.startFrom(onDevice, StepOutputs.LOGITS);
        HostTrafficStats prefill = deviceBound.trafficStats().since(before);
        try {
            for (int r = 0; r < rows.size(); r++) {
                assertThat(device.lastLogits(r)).as("row %d", r).containsExactly(host.lastLogits(r));
            }
            int n = rows.size();
            int seq = rows.stream().mapToInt(p -> p.length).max().orElseThrow();
            long paddedPromptFloats = (long) n * (seq - QUERY_TOKENS) * hidden; // right-padded to the longest
            assertThat(paddedPromptFloats).isGreaterThan(promptFloats);
            assertThat(prefill.prefillToDevice()).isEqualTo(paddedPromptFloats * Float.BYTES + n * Long.BYTES
                    + n * Integer.BYTES + Integer.BYTES + n * Long.BYTES + (deviceBound.offersChoices() ? Long.BYTES : 0));
            try (DecodingState imageOnly = deviceBound.startFrom(List.of(onDevice.get(3)), StepOutputs.LOGITS);
                 DecodingState hostImageOnly = deviceBound.start(List.<float[][]>of(rows.get(3)), StepOutputs.LOGITS)) {
                assertThat(imageOnly.lastLogits(0)).containsExactly(hostImageOnly.lastLogits(0));
            }
        } finally {
            host.close();
            device.close();
        }
        assertThat(freed).hasValue(0);
        VisualPrefix.closeAll(onDevice);
        assertThat(freed).hasValue(2);
        assertThatThrownBy(() -> deviceBound.startFrom(List.of(onDevice.get(0)), StepOutputs.LOGITS))
                .hasMessageContaining("closed");
    }

    @Test
    void deviceBoundCacheGrowsAndReordersOnTheDevice() throws Exception {
        List<float[][]> rows = List.of(Arrays.copyOf(singlePrefix(), 3), singlePrefix());
        GenerationConfig long80 = GenerationConfig.greedy(80).withMinNewTokens(80);
        List<GeneratedSequence> java = fusedGenerator.generate(rows, long80, new int[] {eos}, false);
        List<GeneratedSequence> bound = deviceBoundGenerator.generate(rows, long80, new int[] {eos}, false);
        for (int r = 0; r < rows.size(); r++) {
            assertThat(bound.get(r).tokenIds()).as("row %d", r).hasSize(80).containsExactly(java.get(r).tokenIds());
            for (int i = 0; i < 80; i++) {
                assertThat(bound.get(r).stepLogProbs()[i]).as("row %d step %d", r, i).isCloseTo(
                        java.get(r).stepLogProbs()[i], org.assertj.core.data.Offset.offset((float) TOL));
            }
        }
        GenerationConfig beams = GenerationConfig.greedy(10).withBeams(3, 3);
        List<int[]> context = List.of(new int[0], new int[0]);
        long[] seeds = {0, 0};
        List<List<GeneratedSequence>> javaBeams = new TextGenerator(new PrefixStepDecoder(fusedRunner, padId()))
                .generate(rows, context, beams, seeds, new int[] {eos});
        List<List<GeneratedSequence>> boundBeams = new TextGenerator(deviceBound)
                .generate(rows, context, beams, seeds, new int[] {eos});
        for (int r = 0; r < rows.size(); r++) {
            for (int b = 0; b < 3; b++) {
                assertThat(boundBeams.get(r).get(b).tokenIds()).as("row %d beam %d", r, b)
                        .containsExactly(javaBeams.get(r).get(b).tokenIds());
                assertThat(boundBeams.get(r).get(b).score()).isCloseTo(javaBeams.get(r).get(b).score(),
                        org.assertj.core.data.Offset.offset(TOL));
            }
        }
    }

    /** The device-bound runner serves the fused graph only; auto takes it on CUDA, the Java API on CPU. */
    @Test
    void runnerSelectionNamesWhatTheDeviceBoundRunnerServes() throws Exception {
        RuntimeOptions bound = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        assertThatThrownBy(() -> DeviceBoundDecoder.open(dir.resolve("embed.onnx"), dir.resolve("decoder.onnx"), config,
                padId(), bound)).isInstanceOf(java.io.IOException.class).hasMessageContaining("fused decoder, LLaMA or OPT")
                .hasMessageContaining("ort-java");
        assertThatThrownBy(() -> DecoderRunners.open(dir.resolve("embed.onnx"), dir.resolve("decoder.onnx"), config,
                padId(), false, bound)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("fused decoder (LLaMA or OPT) only");
        try (ContinuousDecoder auto = DecoderRunners.open(dir.resolve("embed.onnx"), dir.resolve("decoder_fused.onnx"),
                config, padId(), true, RuntimeOptions.cpu(1))) {
            assertThat(auto).isInstanceOf(PrefixStepDecoder.class);
        }
        assertThat(RuntimeOptions.Runner.AUTO.resolve(RuntimeOptions.Device.CUDA))
                .isEqualTo(RuntimeOptions.Runner.DEVICE_BOUND);
        assertThat(RuntimeOptions.Runner.parse("Device-Bound")).isEqualTo(RuntimeOptions.Runner.DEVICE_BOUND);
        assertThatThrownBy(() -> RuntimeOptions.Runner.parse("gpu")).hasMessageContaining("auto, ort-java or device-bound");
    }

    @ParameterizedTest(name = "decoder: {0}")
    @EnumSource(Decoder.class)
    void badInputIsRejectedWithClearErrors(Decoder fused) {
        assertThatThrownBy(() -> generator(fused).generate(List.<float[][]>of(new float[0][]), GenerationConfig.greedy(4),
                new int[] {eos}, false)).isInstanceOf(AnnotationException.class).hasMessageContaining("empty prefix");
        assertThatThrownBy(() -> generator(fused).generate(List.<float[][]>of(new float[][] {new float[3]}), GenerationConfig.greedy(4),
                new int[] {eos}, false)).isInstanceOf(AnnotationException.class).hasMessageContaining("width 3");
        assertThatThrownBy(() -> generator(fused).generate(List.<float[][]>of(singlePrefix()), GenerationConfig.greedy(4).withBeams(3, 1),
                new int[] {eos}, false)).isInstanceOf(AnnotationException.class).hasMessageContaining("numBeams 1");
    }

    // ---------------------------------------------------------------- inputs

    private static float[][] singlePrefix() throws Exception {
        long[] ids = longs(reference.path("single").path("inputs").path("input_ids").path("values").get(0));
        return prefix(tensors.tensor("single.language_projection_output"), 0,
                Arrays.copyOfRange(ids, QUERY_TOKENS, ids.length));
    }

    /** The batch rows: their projection outputs and their prompt ids without the padding. */
    private static List<float[][]> batchPrefixes() throws Exception {
        JsonNode inputs = reference.path("batch").path("inputs");
        float[] projections = tensors.tensor("batch.language_projection_output");
        List<float[][]> rows = new ArrayList<>();
        for (int r = 0; r < inputs.path("input_ids").path("values").size(); r++) {
            long[] ids = longs(inputs.path("input_ids").path("values").get(r));
            long[] mask = longs(inputs.path("attention_mask").path("values").get(r));
            long[] text = java.util.stream.IntStream.range(QUERY_TOKENS, ids.length).filter(i -> mask[i] == 1)
                    .mapToLong(i -> ids[i]).toArray();
            rows.add(prefix(projections, r, text));
        }
        return rows;
    }

    private static float[][] prefix(float[] projections, int row, long[] textIds) throws Exception {
        int hidden = config.hiddenSize();
        float[] text = runner.embed(textIds, 1, textIds.length);
        float[][] out = new float[QUERY_TOKENS + textIds.length][];
        for (int q = 0; q < QUERY_TOKENS; q++) {
            int from = (row * QUERY_TOKENS + q) * hidden;
            out[q] = Arrays.copyOfRange(projections, from, from + hidden);
        }
        for (int t = 0; t < textIds.length; t++) {
            out[QUERY_TOKENS + t] = Arrays.copyOfRange(text, t * hidden, (t + 1) * hidden);
        }
        return out;
    }

    /** Every ordered selection of 2 and 3 rows out of n, and all n in two orders. */
    private static List<int[]> orders(int n) {
        List<int[]> out = new ArrayList<>();
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                if (b == a) {
                    continue;
                }
                out.add(new int[] {a, b});
                for (int c = 0; c < n; c++) {
                    if (c != a && c != b) {
                        out.add(new int[] {a, b, c});
                    }
                }
            }
        }
        out.add(new int[] {0, 1, 2, 3});
        out.add(new int[] {3, 1, 0, 2});
        return out;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
