package dev.loupe.model.llava;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link LlavaParityTest} on a package with the plain LLaMA decoder graph (the default being the fused one). */
class PlainDecoderLlavaParityTest extends LlavaParityTest implements PlainDecoderVariant {
}
