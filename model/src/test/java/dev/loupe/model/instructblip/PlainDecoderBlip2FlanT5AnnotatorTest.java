package dev.loupe.model.instructblip;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link Blip2FlanT5AnnotatorTest} on a package with the plain T5 graphs (the default being the fused ones). */
class PlainDecoderBlip2FlanT5AnnotatorTest extends Blip2FlanT5AnnotatorTest implements PlainDecoderVariant {
}
