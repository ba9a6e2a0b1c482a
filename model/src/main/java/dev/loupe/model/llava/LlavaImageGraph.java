package dev.loupe.model.llava;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.layers.EncoderOps;
import dev.loupe.model.onnx.GraphBuilder;
import java.util.List;

/**
 * The LLaVA image side as one ONNX graph: the CLIP tower up to the selected hidden state(s)
 * ({@code vision_feature_layer}), the class token dropped under strategy "default", then the multimodal projector
 * (linear, activation, linear) into the language model's embedding space, as
 * {@code LlavaModel.get_image_features} computes it.
 *
 * <p>Input {@value #PIXEL_VALUES} float [batch, 3, S, S]. Outputs {@value #IMAGE_FEATURES} [batch, N, llm_hidden]
 * (what replaces the N {@code <image>} tokens) and {@value #VISION_FEATURES} [batch, N, vision_hidden x layers]
 * (the projector's input). With diagnostics, also {@value #SELECTED_HIDDEN_STATE} (the first selected state, class
 * token included) and {@value #LAST_HIDDEN_STATE} (the last layer's output; CLIP applies post_layernorm to the
 * pooled class token only), which serving never needs.
 */
public final class LlavaImageGraph {
    public static final String PIXEL_VALUES = "pixel_values";
    public static final String IMAGE_FEATURES = "image_features";
    public static final String VISION_FEATURES = "vision_features";
    public static final String SELECTED_HIDDEN_STATE = "selected_hidden_state";
    public static final String LAST_HIDDEN_STATE = "last_hidden_state";

    private LlavaImageGraph() {}

    /**
     * @param prefix      where the LLaVA weights live ("" for the layout save_pretrained writes:
     *                    {@code vision_tower.vision_model.*}, {@code multi_modal_projector.*})
     * @param llmHidden   the language model's hidden size, the projector's output width
     * @param diagnostics add the parity outputs
     */
    public static GraphBuilder build(LlavaConfig config, SafetensorsCheckpoint ckpt, String prefix, int llmHidden,
                                     boolean diagnostics) {
        LlavaConfig.ClipVisionConfig vc = config.vision();
        GraphBuilder g = new GraphBuilder("llava_image");
        String pixels = g.input(PIXEL_VALUES, DataType.FLOAT, "batch", 3, vc.imageSize(), vc.imageSize());
        ClipVisionGraph clip = new ClipVisionGraph(g, ckpt, vc, prefix + "vision_tower.vision_model.");

        int[] layers = config.featureLayers();
        int[] indices = new int[layers.length + (diagnostics ? 1 : 0)];
        for (int i = 0; i < layers.length; i++) {
            indices[i] = vc.hiddenStateIndex(layers[i]);
        }
        if (diagnostics) {
            indices[layers.length] = vc.numLayers();
        }
        List<String> states = clip.hiddenStates(pixels, indices);
        String[] selected = new String[layers.length];
        for (int i = 0; i < layers.length; i++) {
            String s = states.get(i);
            selected[i] = config.dropClassToken()
                    ? g.slice(s, new long[] {1}, new long[] {Long.MAX_VALUE}, new long[] {1}) : s;
        }
        String features = selected.length == 1 ? selected[0] : g.concat(-1, selected);

        EncoderOps ops = new EncoderOps(g, ckpt);
        String p = prefix + "multi_modal_projector.";
        String projected = ops.linear(config.projectorAct().apply(g, ops.linear(features, p + "linear_1")),
                p + "linear_2");

        int n = config.imageSeqLength();
        g.output(projected, IMAGE_FEATURES, DataType.FLOAT, "batch", n, llmHidden);
        g.output(features, VISION_FEATURES, DataType.FLOAT, "batch", n, config.featureSize());
        if (diagnostics) {
            g.output(states.get(0), SELECTED_HIDDEN_STATE, DataType.FLOAT, "batch", vc.numPositions(), vc.hiddenSize());
            g.output(states.get(layers.length), LAST_HIDDEN_STATE, DataType.FLOAT, "batch",
                    vc.numPositions(), vc.hiddenSize());
        }
        return g;
    }
}
