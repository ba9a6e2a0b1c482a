package dev.loupe.model.instructblip;

/** File and family names inside an InstructBLIP model package (LLaMA/Vicuna or Flan-T5 language model). */
public final class InstructBlipPackage {
    public static final String FAMILY = "instructblip-llama";
    /** InstructBLIP with a T5 / Flan-T5 encoder-decoder language model. */
    public static final String FAMILY_T5 = "instructblip-t5";

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
}
