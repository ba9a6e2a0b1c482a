package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.ConcurrentRuns;
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
 * The fused decoder's one-token steps cut into parts that run side by side over their own slots of one cache
 * ({@link SharedBufferDecoder#STEP_PARTS_PROPERTY}), on the tiny InstructBLIP-Vicuna language model in float32, int8
 * and int4: after a prefill and each of several steps, every row's logits, token choices and cached keys and values
 * are bit for bit those of the steps run whole.
 */
class StepInPartsTest {
    @TempDir
    static Path dir;

    private static LlamaConfig config;

    @BeforeAll
    static void readConfig() throws Exception {
        config = SlotDecoding.vicunaConfig();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "INT8", "INT4"})
    void stepsInPartsGiveEachRowItsOneRunResultBitForBit(Precision precision) throws Exception {
        Path embed = dir.resolve(precision.label() + "-embed.onnx");
        Path decoder = dir.resolve(precision.label() + "-decoder.onnx");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(HfFixture.VICUNA.checkpoint())) {
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, "language_model.", config), embed, precision);
            OnnxModelWriter.write(FusedLlamaGraphs.decoder(ckpt, "language_model.", config), decoder, precision);
        }
        String before = System.clearProperty(SharedBufferDecoder.STEP_PARTS_PROPERTY);
        try (LanguageModelRunner whole = openWithRuns("1", embed, decoder);
             LanguageModelRunner parted = openWithRuns("3", embed, decoder)) {
            assertThat(new SharedBufferDecoder(parted).stepParts(7)).as("by default a step runs whole").isEqualTo(1);
            System.setProperty(SharedBufferDecoder.STEP_PARTS_PROPERTY, "3");
            assertThat(new SharedBufferDecoder(whole).stepParts(7)).isEqualTo(1);
            assertThat(new SharedBufferDecoder(parted).stepParts(7)).isEqualTo(3);
            assertThat(new SharedBufferDecoder(parted).stepParts(1)).isEqualTo(1);
            int[] lengths = {5, 3, 9, 2, 6, 4, 7};
            List<float[]> expected = SlotDecoding.prefillAndSteps(whole, config, lengths, 4);
            List<float[]> actual = SlotDecoding.prefillAndSteps(parted, config, lengths, 4);
            assertThat(actual).hasSameSizeAs(expected);
            for (int i = 0; i < expected.size(); i++) {
                assertThat(actual.get(i)).as("%s, output %d", precision, i).containsExactly(expected.get(i));
            }
        } finally {
            restore(SharedBufferDecoder.STEP_PARTS_PROPERTY, before);
        }
    }

    /** A runner whose steps run up to {@code runs} parts at once ({@link ConcurrentRuns#PROPERTY}). */
    private static LanguageModelRunner openWithRuns(String runs, Path embed, Path decoder) throws Exception {
        String before = System.setProperty(ConcurrentRuns.PROPERTY, runs);
        try {
            return LanguageModelRunner.open(embed, decoder, config, 1);
        } finally {
            restore(ConcurrentRuns.PROPERTY, before);
        }
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }
}
