package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
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
        config = SlotDecoding.vicunaConfig();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "INT8", "INT4"})
    void packedProjectionsGiveTheSeparateProjectionsResultsBitForBit(Precision precision) throws Exception {
        try (LanguageModelRunner separate = open(precision, FusedLlamaGraphs.Projections.SEPARATE);
             LanguageModelRunner packed = open(precision, FusedLlamaGraphs.Projections.PACKED)) {
            for (int[] lengths : new int[][] {{5, 3, 9, 2, 6}, {7}}) {
                List<float[]> expected = SlotDecoding.prefillAndSteps(separate, config, lengths, 3);
                List<float[]> actual = SlotDecoding.prefillAndSteps(packed, config, lengths, 3);
                for (int i = 0; i < expected.size(); i++) {
                    assertThat(actual.get(i)).as("%s, batch %d, output %d", precision, lengths.length, i)
                            .containsExactly(expected.get(i));
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
}
