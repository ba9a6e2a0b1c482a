package dev.loupe.model.instructblip;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link InstructBlipAnnotatorTest} on a package with the plain LLaMA decoder graph (the default being the fused one). */
class PlainDecoderInstructBlipAnnotatorTest extends InstructBlipAnnotatorTest implements PlainDecoderVariant {
}
