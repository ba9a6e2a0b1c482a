package dev.loupe.model.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.layers.Activation;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The parts of a LLaVA-1.5 {@code config.json} ({@code LlavaForConditionalGeneration}) that conversion and runtime
 * need, with transformers' defaults, validated up front so that an unsupported checkpoint fails with a message
 * naming the field. The language model's section stays raw in {@link #textConfig()} for
 * {@link dev.loupe.model.llm.LlamaConfig}.
 *
 * @param vision                      the CLIP vision tower
 * @param imageTokenIndex             the id of the {@code <image>} placeholder token
 * @param featureLayers               hidden-state indices (Python-style, negative from the end) whose outputs are
 *                                    the image features, concatenated on the channel axis when several
 * @param dropClassToken              strategy "default" drops the CLS position; "full" keeps it
 * @param projectorAct                activation between the projector's two linear layers
 * @param projectorBias               whether the projector's linear layers have biases
 * @param textConfig                  the raw {@code text_config}
 */
public record LlavaConfig(ClipVisionConfig vision, int imageTokenIndex, int[] featureLayers, boolean dropClassToken,
                          Activation projectorAct, boolean projectorBias, JsonNode textConfig) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Settings of the CLIP ViT (transformers' {@code CLIPVisionConfig}). */
    public record ClipVisionConfig(int hiddenSize, int numLayers, int numHeads, int intermediateSize, int imageSize,
                                   int patchSize, double layerNormEps, Activation hiddenAct) {
        public int headDim() {
            return hiddenSize / numHeads;
        }

        public int numPatches() {
            int grid = imageSize / patchSize;
            return grid * grid;
        }

        /** Tokens per image: the class token plus the patches. */
        public int numPositions() {
            return numPatches() + 1;
        }

        /** The position in the hidden-states tuple (0 = embeddings after pre_layrnorm) of a Python-style index. */
        public int hiddenStateIndex(int layer) {
            int idx = layer < 0 ? numLayers + 1 + layer : layer;
            if (idx < 0 || idx > numLayers) {
                throw new IllegalArgumentException("vision_feature_layer " + layer + " is outside the "
                        + (numLayers + 1) + " hidden states of the vision tower");
            }
            return idx;
        }
    }

    public static LlavaConfig load(Path checkpointDir) throws IOException {
        return fromJson(JSON.readTree(checkpointDir.resolve("config.json").toFile()));
    }

    public static LlavaConfig fromJson(JsonNode c) {
        String type = c.path("model_type").asText();
        if (!"llava".equals(type)) {
            throw new IllegalArgumentException("model_type '" + type + "' is not llava");
        }
        JsonNode v = c.path("vision_config");
        String visionType = v.path("model_type").asText("clip_vision_model");
        if (!"clip_vision_model".equals(visionType)) {
            throw new IllegalArgumentException("vision_config.model_type '" + visionType
                    + "' is not supported (supported: clip_vision_model)");
        }
        ClipVisionConfig vision = new ClipVisionConfig(
                v.path("hidden_size").asInt(1024),
                v.path("num_hidden_layers").asInt(24),
                v.path("num_attention_heads").asInt(16),
                v.path("intermediate_size").asInt(4096),
                v.path("image_size").asInt(336),
                v.path("patch_size").asInt(14),
                v.path("layer_norm_eps").asDouble(1e-5),
                Activation.of("vision_config.hidden_act", v.path("hidden_act").asText("quick_gelu")));
        if (vision.hiddenSize() % vision.numHeads() != 0) {
            throw new IllegalArgumentException("vision_config.hidden_size " + vision.hiddenSize()
                    + " is not divisible by num_attention_heads " + vision.numHeads());
        }
        if (vision.imageSize() % vision.patchSize() != 0) {
            throw new IllegalArgumentException("vision_config.image_size " + vision.imageSize()
                    + " is not a multiple of patch_size " + vision.patchSize());
        }
        if (v.path("num_channels").asInt(3) != 3) {
            throw new IllegalArgumentException("vision_config.num_channels must be 3");
        }
        JsonNode layerNode = c.path("vision_feature_layer");
        int[] layers;
        if (layerNode.isArray()) {
            layers = new int[layerNode.size()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = layerNode.get(i).asInt();
            }
        } else {
            layers = new int[] {layerNode.asInt(-2)};
        }
        if (layers.length == 0) {
            throw new IllegalArgumentException("vision_feature_layer is an empty list");
        }
        for (int layer : layers) {
            vision.hiddenStateIndex(layer);
        }
        String strategy = c.path("vision_feature_select_strategy").asText("default");
        if (!"default".equals(strategy) && !"full".equals(strategy)) {
            throw new IllegalArgumentException("vision_feature_select_strategy '" + strategy
                    + "' is not supported (supported: default, full)");
        }
        JsonNode text = c.path("text_config");
        String textType = text.path("model_type").asText("llama");
        if (!"llama".equals(textType)) {
            throw new IllegalArgumentException("text_config.model_type '" + textType
                    + "' is not supported (supported: llama)");
        }
        int image = c.has("image_token_index") ? c.get("image_token_index").asInt()
                : c.path("image_token_id").asInt(32000);
        return new LlavaConfig(vision, image, layers, "default".equals(strategy),
                Activation.of("projector_hidden_act", c.path("projector_hidden_act").asText("gelu")),
                c.path("multimodal_projector_bias").asBoolean(true), text);
    }

    /** Image feature positions per image: the patches, plus the class token under strategy "full". */
    public int imageSeqLength() {
        return vision.numPatches() + (dropClassToken ? 0 : 1);
    }

    /** Channels of the features fed to the projector. */
    public int featureSize() {
        return vision.hiddenSize() * featureLayers.length;
    }
}
