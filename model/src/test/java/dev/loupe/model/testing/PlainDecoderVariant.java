package dev.loupe.model.testing;

/**
 * Marks a subclass of a parity test that runs the same tests on a package with the plain decoder graph
 * ({@link dev.loupe.model.llm.DecoderGraphKind#PLAIN}) instead of the default fused one, so both graphs pass the
 * same checks with the same thresholds ({@link ConvertedFixture#decoderFor}).
 */
public interface PlainDecoderVariant {
}
