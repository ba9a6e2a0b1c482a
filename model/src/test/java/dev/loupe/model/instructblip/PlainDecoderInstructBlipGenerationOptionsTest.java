package dev.loupe.model.instructblip;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link InstructBlipGenerationOptionsTest} on a package with the plain LLaMA decoder graph (the default being the fused one). */
class PlainDecoderInstructBlipGenerationOptionsTest extends InstructBlipGenerationOptionsTest implements PlainDecoderVariant {
}
