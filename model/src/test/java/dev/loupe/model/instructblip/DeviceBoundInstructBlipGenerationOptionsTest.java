package dev.loupe.model.instructblip;

import dev.loupe.model.testing.DeviceBoundVariant;

/**
 * {@link InstructBlipGenerationOptionsTest} (beams, sampling, penalties, candidate ranking) with the device-bound
 * decoder runner (IoBinding; CPU memory here).
 */
class DeviceBoundInstructBlipGenerationOptionsTest extends InstructBlipGenerationOptionsTest
        implements DeviceBoundVariant {
}
