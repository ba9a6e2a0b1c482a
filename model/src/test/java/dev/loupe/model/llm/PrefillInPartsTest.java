package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused decoder's prefill cut into parts that run side by side over their own slots of one cache
 * ({@link SharedBufferDecoder}), on the tiny InstructBLIP-Vicuna language model in float32, int8 and int4 (the
 * packages' decoder graphs): every row's logits, token choices and
 * cached keys and values are bit for bit those of the same rows prefilled in one run and of each row prefilled alone,
 * the slots outside the prefill keep what they held, and the steps after it give the same logits.
 */
class PrefillInPartsTest {
    @TempDir
    static Path dir;

    private static LlamaConfig config;
    /** Per precision: the runner that prefills in one run, then the one that prefills in up to 3 parts. */
    private static final Map<Precision, LanguageModelRunner[]> RUNNERS = new EnumMap<>(Precision.class);

    /** The prefill-parts property as it was before this class set it (it cuts every decoder's prefill here). */
    private static String partsBefore;

    @BeforeAll
    static void buildModel() throws Exception {
        partsBefore = System.setProperty(SharedBufferDecoder.PREFILL_PARTS_PROPERTY, "3");
        Path fixture = HfFixture.VICUNA.checkpoint();
        config = LlamaConfig.fromJson(new ObjectMapper().readTree(fixture.resolve("config.json").toFile())
                .path("text_config"));
        for (Precision precision : List.of(Precision.FP32, Precision.INT8, Precision.INT4)) {
            Path embed = dir.resolve(precision.label() + "-embed.onnx");
            Path decoder = dir.resolve(precision.label() + "-decoder.onnx");
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture)) {
                OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "language_model.", config), embed, precision);
                OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "language_model.", config), decoder, precision);
            }
            RUNNERS.put(precision, new LanguageModelRunner[] {openWithRuns("1", embed, decoder),
                    openWithRuns("3", embed, decoder)});
        }
    }

    /** A runner whose prefill runs up to {@code runs} parts at once ({@link ConcurrentRuns#PROPERTY}). */
    private static LanguageModelRunner openWithRuns(String runs, Path embed, Path decoder) throws Exception {
        String before = System.getProperty(ConcurrentRuns.PROPERTY);
        System.setProperty(ConcurrentRuns.PROPERTY, runs);
        try {
            return LanguageModelRunner.open(embed, decoder, config, 1);
        } finally {
            if (before == null) {
                System.clearProperty(ConcurrentRuns.PROPERTY);
            } else {
                System.setProperty(ConcurrentRuns.PROPERTY, before);
            }
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (partsBefore == null) {
            System.clearProperty(SharedBufferDecoder.PREFILL_PARTS_PROPERTY);
        } else {
            System.setProperty(SharedBufferDecoder.PREFILL_PARTS_PROPERTY, partsBefore);
        }
        for (LanguageModelRunner[] runners : RUNNERS.values()) {
            runners[0].close();
            runners[1].close();
        }
    }

    @Test
    void byDefaultOnlyTheInt8DecoderPrefillsInParts() {
        assertThat(RUNNERS.get(Precision.INT8)[1].prefillsInParts()).isTrue();
        assertThat(RUNNERS.get(Precision.FP32)[1].prefillsInParts()).isFalse();
        assertThat(RUNNERS.get(Precision.INT4)[1].prefillsInParts()).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "INT8", "INT4"})
    void eachRowOfAPrefillInPartsIsBitForBitItsOneRunAndItsAloneResult(Precision precision) throws Exception {
        LanguageModelRunner whole = RUNNERS.get(precision)[0];
        LanguageModelRunner parted = RUNNERS.get(precision)[1];
        assertThat(whole.prefillRuns().threads()).isEqualTo(1);
        assertThat(parted.prefillRuns().threads()).isEqualTo(3);
        int[] lengths = {5, 3, 9, 2, 6};
        List<VisualPrefix> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            rows.add(VisualPrefix.onHost(prefix(lengths[r], 10 + r)));
        }
        float[] pad = new float[config.hiddenSize()];
        StepOutputs outputs = parted.offersChoices() ? new StepOutputs(true, 3) : StepOutputs.LOGITS;
        long[] step = {11, 12, 13, 14, 15, 16};

        Prefilled one = prefillAfterARow(whole, rows, pad, outputs, step);
        Prefilled parts = prefillAfterARow(parted, rows, pad, outputs, step);
        for (int r = 0; r < 6; r++) {
            assertThat(parts.logits.get(r)).as("row %d's logits", r).containsExactly(one.logits.get(r));
            assertThat(parts.choices.get(r)).as("row %d's choices", r).containsExactly(one.choices.get(r));
            assertThat(parts.cache.get(r)).as("row %d's cache", r).containsExactly(one.cache.get(r));
            assertThat(parts.stepLogits.get(r)).as("row %d's step logits", r).containsExactly(one.stepLogits.get(r));
        }

        SharedBufferDecoder decoder = new SharedBufferDecoder(parted);
        for (int r = 0; r < rows.size(); r++) {
            try (SharedKvCache alone = decoder.newCache(1, 16)) {
                LanguageModelRunner.DecoderOutput out = decoder.prefill(alone, 0, List.of(rows.get(r)), pad, outputs);
                assertThat(out.lastLogits(0)).as("row %d alone", r).containsExactly(parts.logits.get(r + 1));
                assertThat(cacheRows(alone, 0)).as("row %d's cache alone", r).containsExactly(parts.cache.get(r + 1));
            }
        }
    }

    @Test
    void anInt8PrefillIsCutIntoPartsOfAtMostFourRowsWhereThePoolHasFewerThreads() {
        assertThat(SharedBufferDecoder.PREFILL_PART_ROWS).isEqualTo(4);
        // batch 16 on 2 threads: 4 parts of 4 rows, two at a time (was 2 parts of 8)
        assertThat(SharedBufferDecoder.prefillParts(16, 2, true, null)).isEqualTo(4);
        assertThat(SharedBufferDecoder.prefillParts(9, 2, true, null)).isEqualTo(3);
        assertThat(SharedBufferDecoder.prefillParts(8, 2, true, null)).isEqualTo(2);
        assertThat(SharedBufferDecoder.prefillParts(3, 2, true, null)).isEqualTo(2);
        assertThat(SharedBufferDecoder.prefillParts(1, 2, true, null)).isEqualTo(1);
        // one part per thread where that already keeps parts at 4 rows or fewer
        assertThat(SharedBufferDecoder.prefillParts(16, 8, true, null)).isEqualTo(8);
        assertThat(SharedBufferDecoder.prefillParts(4, 16, true, null)).isEqualTo(4);
        // one thread (or a GPU: runs one after another) prefills whole, as before
        assertThat(SharedBufferDecoder.prefillParts(16, 1, true, null)).isEqualTo(1);
        // not in parts (fp32, int4), and the property, never more parts than rows
        assertThat(SharedBufferDecoder.prefillParts(16, 2, false, null)).isEqualTo(1);
        assertThat(SharedBufferDecoder.prefillParts(16, 2, false, 3)).isEqualTo(3);
        assertThat(SharedBufferDecoder.prefillParts(16, 2, true, 1)).isEqualTo(1);
        assertThat(SharedBufferDecoder.prefillParts(5, 2, true, 9)).isEqualTo(5);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "INT8"})
    void morePartsThanThreadsRunInTurnAndGiveEachRowItsOneRunResult(Precision precision) throws Exception {
        LanguageModelRunner whole = RUNNERS.get(precision)[0];
        LanguageModelRunner parted = RUNNERS.get(precision)[1];
        int[] lengths = {4, 7, 2, 5, 3};
        List<VisualPrefix> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            rows.add(VisualPrefix.onHost(prefix(lengths[r], 30 + r)));
        }
        float[] pad = new float[config.hiddenSize()];
        StepOutputs outputs = parted.offersChoices() ? new StepOutputs(true, 3) : StepOutputs.LOGITS;
        long[] step = {21, 22, 23, 24, 25, 26};
        Prefilled one = prefillAfterARow(whole, rows, pad, outputs, step);
        String before = System.setProperty(SharedBufferDecoder.PREFILL_PARTS_PROPERTY, "5");
        Prefilled parts;
        try {
            // first longer rows of other values: the pooled embedding buffers the parts reuse hold them after
            List<VisualPrefix> longer = new ArrayList<>();
            for (int r = 0; r < lengths.length; r++) {
                longer.add(VisualPrefix.onHost(prefix(8, 60 + r)));
            }
            prefillAfterARow(parted, longer, pad, outputs, step);
            parts = prefillAfterARow(parted, rows, pad, outputs, step); // 5 parts of one row, 3 at a time
        } finally {
            System.setProperty(SharedBufferDecoder.PREFILL_PARTS_PROPERTY, before);
        }
        for (int r = 0; r < 6; r++) {
            assertThat(parts.logits.get(r)).as("row %d's logits", r).containsExactly(one.logits.get(r));
            assertThat(parts.choices.get(r)).as("row %d's choices", r).containsExactly(one.choices.get(r));
            assertThat(parts.cache.get(r)).as("row %d's cache", r).containsExactly(one.cache.get(r));
            assertThat(parts.stepLogits.get(r)).as("row %d's step logits", r).containsExactly(one.stepLogits.get(r));
        }
    }

    /** What a prefill and a step gave, per slot: slot 0 prefilled alone before, slots 1.. by the prefill under test. */
    private record Prefilled(List<float[]> logits, List<float[]> choices, List<float[]> cache,
                             List<float[]> stepLogits) {}

    private static Prefilled prefillAfterARow(LanguageModelRunner runner, List<VisualPrefix> rows, float[] pad,
                                              StepOutputs outputs, long[] step) throws Exception {
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        List<float[]> logits = new ArrayList<>();
        List<float[]> choices = new ArrayList<>();
        List<float[]> cache = new ArrayList<>();
        List<float[]> stepLogits = new ArrayList<>();
        try (SharedKvCache kv = decoder.newCache(rows.size() + 1, 8)) {
            VisualPrefix first = VisualPrefix.onHost(prefix(4, 99));
            LanguageModelRunner.DecoderOutput before = decoder.prefill(kv, 0, List.of(first), pad, outputs);
            logits.add(before.lastLogits(0));
            choices.add(SlotDecoding.choices(before, 0));
            float[] slot0 = cacheRows(kv, 0);
            LanguageModelRunner.DecoderOutput out = decoder.prefill(kv, 1, rows, pad, outputs);
            for (int r = 0; r < rows.size(); r++) {
                logits.add(out.lastLogits(r));
                choices.add(SlotDecoding.choices(out, r));
            }
            assertThat(cacheRows(kv, 0)).as("the slot before the prefill").containsExactly(slot0);
            for (int s = 0; s <= rows.size(); s++) {
                assertThat(kv.length(s)).isEqualTo(s == 0 ? 4 : rows.get(s - 1).length());
                cache.add(cacheRows(kv, s));
            }
            LanguageModelRunner.DecoderOutput next = decoder.feed(kv, rows.size() + 1, step, 1, false, outputs);
            for (int s = 0; s <= rows.size(); s++) {
                stepLogits.add(next.lastLogits(s));
            }
        }
        return new Prefilled(logits, choices, cache, stepLogits);
    }

    /** Slot {@code s}'s cached keys and values of every layer, one after another. */
    private static float[] cacheRows(SharedKvCache cache, int s) {
        float[][] parts = new float[2 * config.numHiddenLayers()][];
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            parts[2 * layer] = cache.keyRow(layer, s);
            parts[2 * layer + 1] = cache.valueRow(layer, s);
        }
        return HfFixture.flat(parts);
    }

    private static float[][] prefix(int length, long seed) {
        return SharedKvCacheTest.prefix(length, config.hiddenSize(), seed);
    }
}
