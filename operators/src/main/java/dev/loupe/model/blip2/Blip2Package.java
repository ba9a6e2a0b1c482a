package dev.loupe.model.blip2;

/**
 * The family name of a BLIP-2 (OPT) model package. Its files are those of an InstructBLIP package
 * ({@link dev.loupe.model.instructblip.InstructBlipPackage}: vision, Q-Former + projection, token embedding, decoder)
 * without the Q-Former tokenizer, since BLIP-2's Q-Former sees no text.
 */
public final class Blip2Package {
    public static final String FAMILY = "blip2-opt";

    private Blip2Package() {}
}
