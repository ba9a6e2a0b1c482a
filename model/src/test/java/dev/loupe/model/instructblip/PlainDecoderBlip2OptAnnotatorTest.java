package dev.loupe.model.instructblip;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link Blip2OptAnnotatorTest} on a package with the plain OPT decoder graph (the default being the fused one). */
class PlainDecoderBlip2OptAnnotatorTest extends Blip2OptAnnotatorTest implements PlainDecoderVariant {
}
