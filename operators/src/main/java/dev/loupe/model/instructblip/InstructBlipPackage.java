package dev.loupe.model.instructblip;

/** File and family names inside an InstructBLIP (LLaMA/Vicuna) model package. */
public final class InstructBlipPackage {
    public static final String FAMILY = "instructblip-llama";

    public static final String GRAPH_VISION = "vision";
    public static final String GRAPH_QFORMER = "qformer";
    public static final String GRAPH_EMBED = "embed";
    public static final String GRAPH_DECODER = "decoder";

    public static final String VISION_FILE = ImageEncoder.VISION_FILE;
    public static final String QFORMER_FILE = ImageEncoder.QFORMER_FILE;
    public static final String EMBED_FILE = "embed.onnx";
    public static final String DECODER_FILE = "decoder.onnx";

    /** Where the LLaMA weights live inside an InstructBLIP checkpoint. */
    public static final String LANGUAGE_MODEL_PREFIX = "language_model.";

    private InstructBlipPackage() {}
}
