package dev.loupe.model.instructblip;

import java.util.Set;

/**
 * File and family names of the Q-Former model packages: InstructBLIP (LLaMA/Vicuna or Flan-T5) and BLIP-2 (OPT or
 * Flan-T5).
 */
public final class InstructBlipPackage {
    public static final String FAMILY = "instructblip-llama";
    /** InstructBLIP with a T5 / Flan-T5 encoder-decoder language model. */
    public static final String FAMILY_T5 = "instructblip-t5";
    /** BLIP-2 with an OPT language model. */
    public static final String FAMILY_BLIP2_OPT = "blip2-opt";
    /** BLIP-2 with a T5 / Flan-T5 language model. */
    public static final String FAMILY_BLIP2_T5 = "blip2-flant5";
    /** Every family these packages hold. */
    public static final Set<String> FAMILIES = Set.of(FAMILY, FAMILY_T5, FAMILY_BLIP2_OPT,
            FAMILY_BLIP2_T5);

    public static final String GRAPH_VISION = "vision";
    public static final String GRAPH_QFORMER = "qformer";
    public static final String GRAPH_EMBED = "embed";
    public static final String GRAPH_DECODER = "decoder";
    /** T5 only: the encoder, which also computes the decoder's cross-attention keys and values. */
    public static final String GRAPH_ENCODER = "encoder";

    public static final String VISION_FILE = ImageEncoder.VISION_FILE;
    public static final String QFORMER_FILE = ImageEncoder.QFORMER_FILE;
    public static final String EMBED_FILE = "embed.onnx";
    public static final String DECODER_FILE = "decoder.onnx";
    public static final String ENCODER_FILE = "encoder.onnx";

    /** Where the language model's weights live inside an InstructBLIP checkpoint. */
    public static final String LANGUAGE_MODEL_PREFIX = "language_model.";

    private InstructBlipPackage() {}

    /** Whether a family's language model is T5 (encoder and decoder graphs). */
    public static boolean isT5(String family) {
        return FAMILY_T5.equals(family) || FAMILY_BLIP2_T5.equals(family);
    }
}
