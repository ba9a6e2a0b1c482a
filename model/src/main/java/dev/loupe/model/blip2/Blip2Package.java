package dev.loupe.model.blip2;

import dev.loupe.model.instructblip.InstructBlipPackage;

/**
 * The family names of BLIP-2 model packages. Their files are those of an InstructBLIP package
 * ({@link InstructBlipPackage}: vision, Q-Former + projection, token embedding, decoder, and the encoder for Flan-T5)
 * without the Q-Former tokenizer, since BLIP-2's Q-Former sees no text.
 */
public final class Blip2Package {
    public static final String FAMILY = InstructBlipPackage.FAMILY_BLIP2_OPT;
    /** BLIP-2 with a Flan-T5 language model. */
    public static final String FAMILY_T5 = InstructBlipPackage.FAMILY_BLIP2_T5;

    private Blip2Package() {}
}
