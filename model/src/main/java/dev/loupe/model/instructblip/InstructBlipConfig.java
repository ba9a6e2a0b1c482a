package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.layers.Activation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The parts of an InstructBLIP {@code config.json} that the image side needs (vision tower, Q-Former, bridge), read
 * with the same defaults transformers uses and validated up front, so an unsupported checkpoint fails at conversion
 * time with a message that names the offending field instead of producing wrong numbers later. The language model's
 * section is kept raw in {@link #textConfig()} for the language-model code to parse.
 *
 * <p>Also reads BLIP-2 ({@code model_type} "blip-2"), whose vision tower and Q-Former are the same modules except
 * that its Q-Former runs on the learned queries alone: {@link #qformerTextInput()} is false there.
 */
public record InstructBlipConfig(
        VisionConfig vision,
        QFormerConfig qformer,
        int numQueryTokens,
        long imageTokenIndex,
        boolean useDecoderOnlyLanguageModel,
        JsonNode textConfig,
        boolean qformerTextInput) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code model_type} of BLIP-2 checkpoints (Blip2ForConditionalGeneration). */
    public static final String BLIP2_MODEL_TYPE = "blip-2";

    /** Activations the graphs can express (names as in transformers' ACT2FN). */
    public static final Set<String> SUPPORTED_ACTIVATIONS = Activation.names();

    /** Settings of the EVA-style ViT. */
    public record VisionConfig(int hiddenSize, int numLayers, int numHeads, int intermediateSize, int imageSize,
                               int patchSize, double layerNormEps, boolean qkvBias, String hiddenAct) {
        public int headDim() {
            return hiddenSize / numHeads;
        }

        public int gridSize() {
            return imageSize / patchSize;
        }

        public int numPatches() {
            return gridSize() * gridSize();
        }

        /** Tokens per image: the class token plus the patches. */
        public int numPositions() {
            return numPatches() + 1;
        }
    }

    /** Settings of the BERT-style Q-Former. */
    public record QFormerConfig(int hiddenSize, int numLayers, int numHeads, int intermediateSize,
                                int crossAttentionFrequency, int encoderHiddenSize, double layerNormEps, int vocabSize,
                                int maxPositionEmbeddings, String positionEmbeddingType, String hiddenAct,
                                int padTokenId) {
        public int headDim() {
            return hiddenSize / numHeads;
        }

        public boolean hasCrossAttention(int layer) {
            return layer % crossAttentionFrequency == 0;
        }
    }

    /** Reads {@code config.json} from a checkpoint directory (or the file itself). */
    public static InstructBlipConfig load(Path checkpointDirOrFile) throws IOException {
        Path file = Files.isDirectory(checkpointDirOrFile) ? checkpointDirOrFile.resolve("config.json")
                : checkpointDirOrFile;
        if (!Files.isRegularFile(file)) {
            throw new IOException("no config.json at " + file);
        }
        try {
            return parse(JSON.readTree(file.toFile()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses and validates a config tree; throws IllegalArgumentException naming the bad field. */
    public static InstructBlipConfig parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config is not a JSON object");
        }
        String modelType = root.path("model_type").asText("instructblip");
        if (!modelType.equals("instructblip") && !modelType.equals(BLIP2_MODEL_TYPE)) {
            throw new IllegalArgumentException("model_type is '" + modelType + "', expected 'instructblip' or '"
                    + BLIP2_MODEL_TYPE + "'");
        }
        JsonNode v = root.path("vision_config");
        VisionConfig vision = new VisionConfig(
                intField(v, "vision_config", "hidden_size", 1408),
                intField(v, "vision_config", "num_hidden_layers", 39),
                intField(v, "vision_config", "num_attention_heads", 16),
                intField(v, "vision_config", "intermediate_size", 6144),
                intField(v, "vision_config", "image_size", 224),
                intField(v, "vision_config", "patch_size", 14),
                v.path("layer_norm_eps").asDouble(1e-6),
                v.path("qkv_bias").asBoolean(true),
                v.path("hidden_act").asText("gelu"));
        JsonNode q = root.path("qformer_config");
        QFormerConfig qformer = new QFormerConfig(
                intField(q, "qformer_config", "hidden_size", 768),
                intField(q, "qformer_config", "num_hidden_layers", 12),
                intField(q, "qformer_config", "num_attention_heads", 12),
                intField(q, "qformer_config", "intermediate_size", 3072),
                intField(q, "qformer_config", "cross_attention_frequency", 2),
                intField(q, "qformer_config", "encoder_hidden_size", 1408),
                q.path("layer_norm_eps").asDouble(1e-12),
                intField(q, "qformer_config", "vocab_size", 30522),
                intField(q, "qformer_config", "max_position_embeddings", 512),
                q.path("position_embedding_type").asText("absolute"),
                q.path("hidden_act").asText("gelu"),
                q.path("pad_token_id").asInt(0));
        int numQueryTokens = root.path("num_query_tokens").asInt(32);
        JsonNode imageToken = root.has("image_token_index") ? root.get("image_token_index") : root.path("image_token_id");
        long imageTokenIndex = imageToken.isIntegralNumber() ? imageToken.asLong() : -1;
        boolean decoderOnly = root.path("use_decoder_only_language_model").asBoolean(true);
        JsonNode text = root.path("text_config");
        if (!text.isObject()) {
            throw new IllegalArgumentException("text_config is missing");
        }
        InstructBlipConfig config = new InstructBlipConfig(vision, qformer, numQueryTokens, imageTokenIndex, decoderOnly,
                text.deepCopy(), !modelType.equals(BLIP2_MODEL_TYPE));
        config.validate();
        return config;
    }

    /** The language model's hidden size: the width of the projected query outputs. */
    public int languageHiddenSize() {
        JsonNode h = textConfig.has("hidden_size") ? textConfig.get("hidden_size") : textConfig.path("d_model");
        if (!h.isIntegralNumber() || h.asInt() <= 0) {
            throw new IllegalArgumentException("text_config has no positive hidden_size/d_model");
        }
        return h.asInt();
    }

    private void validate() {
        positive("vision_config.hidden_size", vision.hiddenSize());
        positive("vision_config.num_hidden_layers", vision.numLayers());
        positive("vision_config.num_attention_heads", vision.numHeads());
        positive("vision_config.intermediate_size", vision.intermediateSize());
        positive("vision_config.image_size", vision.imageSize());
        positive("vision_config.patch_size", vision.patchSize());
        divisible("vision_config", vision.hiddenSize(), vision.numHeads());
        if (vision.imageSize() % vision.patchSize() != 0) {
            throw new IllegalArgumentException("vision_config.image_size " + vision.imageSize()
                    + " is not a multiple of patch_size " + vision.patchSize());
        }
        Activation.of("vision_config.hidden_act", vision.hiddenAct());
        positive("qformer_config.hidden_size", qformer.hiddenSize());
        positive("qformer_config.num_hidden_layers", qformer.numLayers());
        positive("qformer_config.num_attention_heads", qformer.numHeads());
        positive("qformer_config.intermediate_size", qformer.intermediateSize());
        positive("qformer_config.cross_attention_frequency", qformer.crossAttentionFrequency());
        positive("qformer_config.vocab_size", qformer.vocabSize());
        positive("qformer_config.max_position_embeddings", qformer.maxPositionEmbeddings());
        divisible("qformer_config", qformer.hiddenSize(), qformer.numHeads());
        Activation.of("qformer_config.hidden_act", qformer.hiddenAct());
        if (!qformer.positionEmbeddingType().equals("absolute")) {
            throw new IllegalArgumentException("qformer_config.position_embedding_type '"
                    + qformer.positionEmbeddingType() + "' is not supported (only 'absolute')");
        }
        if (qformer.encoderHiddenSize() != vision.hiddenSize()) {
            throw new IllegalArgumentException("qformer_config.encoder_hidden_size " + qformer.encoderHiddenSize()
                    + " differs from vision_config.hidden_size " + vision.hiddenSize());
        }
        positive("num_query_tokens", numQueryTokens);
        languageHiddenSize();
    }

    private static int intField(JsonNode section, String sectionName, String field, int dflt) {
        JsonNode n = section.path(field);
        if (n.isMissingNode() || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber()) {
            throw new IllegalArgumentException(sectionName + "." + field + " is not an integer: " + n);
        }
        return n.asInt();
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }

    private static void divisible(String section, int hidden, int heads) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException(section + ".hidden_size " + hidden
                    + " is not a multiple of num_attention_heads " + heads);
        }
    }
}
