package dev.loupe.model.llava;

/** File and family names inside a LLaVA (CLIP + LLaMA) model package. */
public final class LlavaPackage {
    public static final String FAMILY = "llava-llama";

    public static final String GRAPH_IMAGE = "image";
    public static final String GRAPH_EMBED = "embed";
    public static final String GRAPH_DECODER = "decoder";

    public static final String IMAGE_FILE = "image.onnx";
    public static final String EMBED_FILE = "embed.onnx";
    public static final String DECODER_FILE = "decoder.onnx";

    /** Where the LLaMA weights live in the layout save_pretrained writes ({@code language_model.model.*}). */
    public static final String LANGUAGE_MODEL_PREFIX = "language_model.";

    private LlavaPackage() {}
}
