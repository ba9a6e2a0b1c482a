package dev.loupe.model.llava;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link LlavaAnnotatorTest} on a package with the plain LLaMA decoder graph (the default being the fused one). */
class PlainDecoderLlavaAnnotatorTest extends LlavaAnnotatorTest implements PlainDecoderVariant {
}
