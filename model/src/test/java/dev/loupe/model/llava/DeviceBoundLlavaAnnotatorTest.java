package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.Models;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.testing.DeviceBoundVariant;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.Test;

/**
 * {@link LlavaAnnotatorTest} (greedy and beam parity, batch invariance, candidate ranking, failure isolation) with the
 * device-bound decoder runner over LLaVA's fused LLaMA decoder (IoBinding; CPU memory here).
 */
class DeviceBoundLlavaAnnotatorTest extends LlavaAnnotatorTest implements DeviceBoundVariant {

    /** The tests above ran through the device-bound runner; auto keeps the Java API on CPU. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options)) {
            assertThat(opened.languageModel()).isInstanceOf(DeviceBoundDecoder.class);
            assertThat(opened.hostTraffic().steps()).isZero();
        }
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.languageModel()).isNotInstanceOf(DeviceBoundDecoder.class);
        }
    }

    /** A package with the plain decoder graph cannot run device-bound: a clear error names the way out. */
    @Test
    void aPlainDecoderPackageIsRefusedWithTheWayOut() throws Exception {
        java.nio.file.Path plain = tmp.resolve("plain");
        Models.convert(HfFixture.LLAVA.checkpoint(), plain, Precision.FP32, DecoderGraphKind.PLAIN);
        assertThatThrownBy(() -> LlavaAnnotator.open(plain,
                RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND)))
                .hasMessageContaining("fused decoder").hasMessageContaining("ort-java");
    }
}
