package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.testing.DeviceBoundVariant;
import org.junit.jupiter.api.Test;

/**
 * {@link Blip2OptAnnotatorTest} with the device-bound decoder runner over the fused OPT decoder (IoBinding; CPU
 * memory here): OPT's learned positions come from seqlens_k inside the graph, so the runner feeds it as the fused
 * LLaMA one.
 */
class DeviceBoundBlip2OptAnnotatorTest extends Blip2OptAnnotatorTest implements DeviceBoundVariant {

    /** The tests above ran through the device-bound runner; auto keeps the Java API on CPU. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
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
