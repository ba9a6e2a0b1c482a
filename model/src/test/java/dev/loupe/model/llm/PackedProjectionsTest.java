package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The fused LLaMA decoder with q, k, v and gate, up each multiplied as one packed weight
 * ({@link FusedLlamaGraphs.Projections#PACKED}) against the separate projections of packages converted before, on
 * the tiny InstructBLIP-Vicuna language model: a prefill of rows of different lengths and the steps after it give
 * bit for bit the same logits, token choices and cached keys and values, at batch 5 and at batch 1.
 */
class PackedProjectionsTest {
    @TempDir
    static Path dir;

    private static LlamaConfig config;

    @BeforeAll
    static void readConfig() throws Exception {
        config = LlamaConfig.fromJson(new ObjectMapper().readTree(HfFixture.VICUNA.checkpoint()
                .resolve("config.json").toFile()).path("text_config"));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "INT8", "INT4"})
    void packedProjectionsGiveTheSeparateProjectionsResultsBitForBit(Precision precision) throws Exception {
        try (LanguageModelRunner separate = open(precision, FusedLlamaGraphs.Projections.SEPARATE);
             LanguageModelRunner packed = open(precision, FusedLlamaGraphs.Projections.PACKED)) {
            for (int[] lengths : new int[][] {{5, 3, 9, 2, 6}, {7}}) {
                Decoded expected = decode(separate, lengths);
                Decoded actual = decode(packed, lengths);
                for (int i = 0; i < expected.outputs.size(); i++) {
                    assertThat(actual.outputs.get(i)).as("%s, batch %d, output %d", precision, lengths.length, i)
                            .containsExactly(expected.outputs.get(i));
                }
            }
        }
    }

    private static LanguageModelRunner open(Precision precision, FusedLlamaGraphs.Projections projections)
            throws Exception {
        Path embed = dir.resolve(precision.label() + "-" + projections + "-embed.onnx");
        Path decoder = dir.resolve(precision.label() + "-" + projections + "-decoder.onnx");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(HfFixture.VICUNA.checkpoint())) {
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "language_model.", config), embed, precision);
            OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "language_model.", config, projections), decoder,
                    precision);
        }
        return LanguageModelRunner.open(embed, decoder, config, 1);
    }

    /** Every row's logits, choices and cache after the prefill and after each of three steps, in order. */
    private record Decoded(List<float[]> outputs) {}

    private static Decoded decode(LanguageModelRunner runner, int[] lengths) throws Exception {
        List<VisualPrefix> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            rows.add(VisualPrefix.onHost(SharedKvCacheTest.prefix(lengths[r], config.hiddenSize(), 10 + r)));
        }
        float[] pad = new float[config.hiddenSize()];
        StepOutputs outputs = runner.offersChoices() ? new StepOutputs(true, 3) : StepOutputs.LOGITS;
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        List<float[]> out = new ArrayList<>();
        try (SharedKvCache kv = decoder.newCache(rows.size(), 8)) {
            LanguageModelRunner.DecoderOutput o = decoder.prefill(kv, 0, rows, pad, outputs);
            for (int step = 0; step <= 3; step++) {
                for (int r = 0; r < rows.size(); r++) {
                    out.add(o.lastLogits(r));
                    out.add(choices(o, r));
                    for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                        out.add(kv.keyRow(layer, r));
                        out.add(kv.valueRow(layer, r));
                    }
                }
                if (step < 3) {
                    long[] ids = new long[rows.size()];
                    for (int r = 0; r < ids.length; r++) {
                        ids[r] = 11 + 7 * r + step;
                    }
                    o = decoder.feed(kv, rows.size(), ids, 1, false, outputs);
                }
            }
        }
        return new Decoded(out);
    }

    /** Row {@code r}'s choice ids and log-probs (none when the run returned none). */
    private static float[] choices(LanguageModelRunner.DecoderOutput out, int r) {
        if (out.choices() == 0) {
            return new float[0];
        }
        int[] ids = new int[out.choices()];
        float[] logProbs = new float[out.choices()];
        out.lastChoices(r, ids, logProbs);
        float[] both = new float[2 * ids.length];
        for (int j = 0; j < ids.length; j++) {
            both[j] = ids[j];
            both[ids.length + j] = logProbs[j];
        }
        return both;
    }
}
