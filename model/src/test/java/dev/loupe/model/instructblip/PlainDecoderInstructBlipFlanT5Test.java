package dev.loupe.model.instructblip;

import dev.loupe.model.testing.PlainDecoderVariant;

/** {@link InstructBlipFlanT5Test} on a package with the plain T5 graphs (the default being the fused ones). */
class PlainDecoderInstructBlipFlanT5Test extends InstructBlipFlanT5Test implements PlainDecoderVariant {
}
