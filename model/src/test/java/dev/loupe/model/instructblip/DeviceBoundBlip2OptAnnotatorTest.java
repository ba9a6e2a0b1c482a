package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderRunners;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.DeviceBoundVariant;
import org.junit.jupiter.api.Test;

/**
 * {@link Blip2OptAnnotatorTest} with the device-bound decoder runner over the fused OPT decoder (IoBinding; CPU
 * memory here): OPT's learned positions come from seqlens_k inside the graph, so the runner feeds it as the fused
 * LLaMA one.
 */
class DeviceBoundBlip2OptAnnotatorTest extends Blip2OptAnnotatorTest implements DeviceBoundVariant {

    /**
     * The tests above ran through the device-bound runner; auto keeps the Java API on CPU and takes the device-bound
     * runner on CUDA, where the package's manifest names the fused decoder (what {@code DecoderRunners} decides on).
     */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        assertThat(DecoderRunners.fused(Manifest.read(packageDir).dimensions().path(DecoderGraphKind.MANIFEST_FIELD)
                .asText())).isTrue();
        assertThat(RuntimeOptions.Runner.AUTO.resolve(RuntimeOptions.Device.CUDA))
                .isEqualTo(RuntimeOptions.Runner.DEVICE_BOUND);
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, options)) {
            assertThat(opened.language()).isInstanceOf(DeviceBoundDecoder.class);
        }
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir,
                options.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.language()).isNotInstanceOf(DeviceBoundDecoder.class);
        }
    }
}
