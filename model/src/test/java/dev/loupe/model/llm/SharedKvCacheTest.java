package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused decoder's cache on the tiny InstructBLIP-Vicuna language model: what ONNX Runtime's GroupQueryAttention
 * does with the buffer passed both as past input and as present output (it writes only the new positions, into that
 * buffer, leaving the cached ones untouched), and that growing and reordering the cache keep every row's positions.
 */
class SharedKvCacheTest {
    @TempDir
    static Path dir;

    private static LlamaConfig config;
    private static LanguageModelRunner runner;

    @BeforeAll
    static void buildModel() throws Exception {
        Path fixture = HfFixture.VICUNA.checkpoint();
        config = LlamaConfig.fromJson(new ObjectMapper().readTree(fixture.resolve("config.json").toFile())
                .path("text_config"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture)) {
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "language_model.", config), dir.resolve("embed.onnx"));
            OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "language_model.", config),
                    dir.resolve("decoder.onnx"));
        }
        runner = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("decoder.onnx"), config, 1);
    }

    @AfterAll
    static void close() throws Exception {
        runner.close();
    }

    @Test
    void aStepWritesOnlyTheNewPositionsIntoThePastBufferItself() throws Exception {
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        List<float[][]> prefixes = List.of(prefix(5, 1), prefix(3, 2));
        try (SharedKvCache cache = decoder.newCache(2, 16)) {
            decoder.prefill(cache, 0, prefixes, new float[config.hiddenSize()]);
            assertThat(cache.length(0)).isEqualTo(5);
            assertThat(cache.length(1)).isEqualTo(3);
            float[][] before = {cache.keyRow(1, 0), cache.valueRow(1, 0), cache.keyRow(1, 1), cache.valueRow(1, 1)};
            int capacity = cache.capacity();

            LanguageModelRunner.DecoderOutput step = decoder.feed(cache, 2, new long[] {7, 9}, 1, false);
            float[] stepLogits = step.lastLogits(1);

            assertThat(cache.capacity()).isEqualTo(capacity);
            assertThat(cache.length(0)).isEqualTo(6);
            assertThat(cache.length(1)).isEqualTo(4);
            int headDim = config.headDim();
            float[][] after = {cache.keyRow(1, 0), cache.valueRow(1, 0), cache.keyRow(1, 1), cache.valueRow(1, 1)};
            int[] lengths = {5, 5, 3, 3};
            for (int t = 0; t < after.length; t++) {
                for (int h = 0; h < config.numKeyValueHeads(); h++) {
                    int len = lengths[t];
                    float[] cached = Arrays.copyOfRange(after[t], h * (len + 1) * headDim, (h * (len + 1) + len) * headDim);
                    float[] newest = Arrays.copyOfRange(after[t], (h * (len + 1) + len) * headDim,
                            (h + 1) * (len + 1) * headDim);
                    assertThat(cached).as("cached positions of tensor %d head %d", t, h)
                            .containsExactly(Arrays.copyOfRange(before[t], h * len * headDim, (h + 1) * len * headDim));
                    assertThat(newest).as("new position of tensor %d head %d", t, h).isNotEqualTo(new float[headDim]);
                }
            }

            // the step's logits are those of the whole sequence run as one prefill
            float[][] whole = Arrays.copyOf(prefixes.get(1), 4);
            whole[3] = runner.embed(new long[] {9}, 1, 1);
            try (SharedKvCache fresh = decoder.newCache(1, 4)) {
                float[] expected = decoder.prefill(fresh, 0, List.<float[][]>of(whole), new float[config.hiddenSize()])
                        .lastLogits(0);
                assertThat(InstructBlipVicunaLanguageModelTest.maxAbsDiff(stepLogits, expected)).isLessThan(1e-5);
            }
        }
    }

    @Test
    void growingAndReorderingKeepEveryRowsPositions() throws Exception {
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        try (SharedKvCache cache = decoder.newCache(3, 4)) {
            int capacity = cache.capacity(); // rounded up to whole steps
            assertThat(capacity).isEqualTo(SharedKvCache.CAPACITY_STEP);
            decoder.prefill(cache, 0, List.of(prefix(capacity, 3), prefix(2, 4), prefix(3, 5)),
                    new float[config.hiddenSize()]);
            float[][] keys = {cache.keyRow(0, 0), cache.keyRow(0, 1), cache.keyRow(0, 2)};
            float[][] values = {cache.valueRow(1, 0), cache.valueRow(1, 1), cache.valueRow(1, 2)};

            decoder.feed(cache, 3, new long[] {1, 2, 3}, 1, false); // row 0 outgrows the capacity
            assertThat(cache.capacity()).isEqualTo(2 * capacity);
            for (int r = 0; r < 3; r++) {
                assertThat(cache.length(r)).isEqualTo(keys[r].length / config.numKeyValueHeads() / config.headDim() + 1);
                keys[r] = cache.keyRow(0, r);
                values[r] = cache.valueRow(1, r);
            }

            cache.select(new int[] {2, 2, 0, 1}); // beams: repeats, a new order and a fourth slot
            assertThat(cache.slots()).isEqualTo(4);
            int[] from = {2, 2, 0, 1};
            for (int i = 0; i < from.length; i++) {
                assertThat(cache.keyRow(0, i)).as("slot %d", i).containsExactly(keys[from[i]]);
                assertThat(cache.valueRow(1, i)).as("slot %d", i).containsExactly(values[from[i]]);
            }

            cache.select(new int[] {1, 3}); // rows dropped: the later ones move down in place
            assertThat(cache.keyRow(0, 0)).containsExactly(keys[2]);
            assertThat(cache.keyRow(0, 1)).containsExactly(keys[1]);
            assertThat(cache.length(2)).isZero();
            assertThatThrownBy(() -> cache.select(new int[] {5})).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aGenerationReservesNoMoreCacheRoomThanItsTokensCanFill() throws Exception {
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        List<Integer> asked = new java.util.ArrayList<>();
        SlotDecoder recording = new SlotDecoder() {
            @Override
            public SlotCache newCache(int slots, int positions) {
                asked.add(positions);
                return decoder.newCache(slots, positions);
            }

            @Override
            public LanguageModelRunner.DecoderOutput prefill(SlotCache cache, int first, List<VisualPrefix> prefixes,
                                                             float[] padEmbedding, StepOutputs outputs)
                    throws OrtException {
                return decoder.prefill(cache, first, prefixes, padEmbedding, outputs);
            }

            @Override
            public LanguageModelRunner.DecoderOutput feed(SlotCache cache, int n, long[] tokens, int seq,
                                                          boolean allPositions, StepOutputs outputs)
                    throws OrtException {
                return decoder.feed(cache, n, tokens, seq, allPositions, outputs);
            }
        };
        List<VisualPrefix> prefixes = VisualPrefix.onHost(List.of(prefix(40, 1), prefix(30, 2)));
        float[] pad = new float[config.hiddenSize()];
        for (int newTokens : new int[] {1, 20, 32, 100}) {
            SlotState.start(recording, prefixes, pad, StepOutputs.LOGITS, newTokens).close();
        }
        SlotState.start(recording, prefixes, pad, StepOutputs.LOGITS).close();
        // room for the tokens that can come, never more than the usual 32 (the cache grows past it on demand)
        assertThat(asked).containsExactly(41, 60, 72, 72, 72);
    }

    @Test
    void aClosedCachesBuffersServeTheNextCacheOfTheSameSize() throws Exception {
        KvBufferPool pool = new KvBufferPool();
        try (SharedKvCache cache = new SharedKvCache(runner.environment(), pool, config, OnnxJavaType.FLOAT, 2, 40, 256)) {
            assertThat(pool.pooledBytes()).isZero();
        }
        long perCache = 2L * config.numHiddenLayers() * 2 * config.numKeyValueHeads() * 64 * config.headDim() * 4;
        assertThat(pool.pooledBytes()).isEqualTo(perCache);
        try (SharedKvCache again = new SharedKvCache(runner.environment(), pool, config, OnnxJavaType.FLOAT, 2, 60, 256)) {
            assertThat(again.capacity()).isEqualTo(64); // the same rounded size: the buffers are reused
            assertThat(pool.pooledBytes()).isZero();
        }
    }

    @Test
    void aSequenceLongerThanThePositionTableIsRefused() {
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        int max = config.maxPositionEmbeddings();
        try (SharedKvCache cache = decoder.newCache(1, 8)) {
            assertThatThrownBy(() -> cache.ensure(1, max + 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("exceeds the model's " + max);
        }
    }

    private static float[][] prefix(int length, long seed) {
        return prefix(length, config.hiddenSize(), seed);
    }

    /** {@code length} random input rows of {@code width} (a visual prefix), reproducible from {@code seed}. */
    static float[][] prefix(int length, int width, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] rows = new float[length][width];
        for (float[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) random.nextGaussian() * 0.1f;
            }
        }
        return rows;
    }
}
