package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.testing.DeviceBoundVariant;
import org.junit.jupiter.api.Test;

/** {@link InstructBlipAnnotatorTest} with the device-bound decoder runner (IoBinding; CPU memory here). */
class DeviceBoundInstructBlipAnnotatorTest extends InstructBlipAnnotatorTest implements DeviceBoundVariant {

    /** The runner setting reaches the package's language model: the tests above ran through the device-bound one. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, options)) {
            assertThat(opened.language()).isInstanceOf(DeviceBoundDecoder.class);
        }
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir,
                options.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.language()).isNotInstanceOf(DeviceBoundDecoder.class); // auto on CPU: the Java API
        }
    }
}
