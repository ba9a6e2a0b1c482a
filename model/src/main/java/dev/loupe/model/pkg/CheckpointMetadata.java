package dev.loupe.model.pkg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The manifest parts that every family reads the same way from a Hugging Face checkpoint: config.json,
 * generation_config.json, preprocessor_config.json, the source fingerprint, the special token ids (generation
 * config first, then the language model's config) and the default per-task generation settings.
 */
public final class CheckpointMetadata {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path checkpointDir;
    private final JsonNode config;
    private final JsonNode generationConfig;
    private final JsonNode preprocessing;

    private CheckpointMetadata(Path checkpointDir, JsonNode config, JsonNode generationConfig, JsonNode preprocessing) {
        this.checkpointDir = checkpointDir;
        this.config = config;
        this.generationConfig = generationConfig;
        this.preprocessing = preprocessing;
    }

    /** Reads the checkpoint's JSON files; preprocessor_config.json is required. */
    public static CheckpointMetadata read(Path checkpointDir) throws IOException {
        Path dir = checkpointDir.toAbsolutePath().normalize();
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        JsonNode generation = readOptional(dir.resolve("generation_config.json"));
        JsonNode preprocessing = readOptional(dir.resolve("preprocessor_config.json"));
        if (preprocessing == null) {
            throw new IOException(checkpointDir + " has no preprocessor_config.json");
        }
        return new CheckpointMetadata(dir, config, generation, preprocessing);
    }

    /** config.json as read. */
    public JsonNode config() {
        return config;
    }

    /** preprocessor_config.json as read. */
    public JsonNode preprocessing() {
        return preprocessing;
    }

    /** The checkpoint's folder name, the package's name. */
    public String name() {
        return checkpointDir.getFileName().toString();
    }

    /** Where the package came from, with the weights' SHA-256 and fingerprint. */
    public Manifest.Source source() throws IOException {
        return new Manifest.Source(checkpointDir.toString(), CheckpointHash.sha256(checkpointDir),
                CheckpointHash.fingerprint(checkpointDir));
    }

    /**
     * BOS, EOS and PAD from generation_config.json, else from {@code textConfig}, else from config.json's top level.
     *
     * @param imageTokenId the image placeholder id, or null
     */
    public Manifest.SpecialTokens specialTokens(JsonNode textConfig, Integer imageTokenId) {
        return new Manifest.SpecialTokens(intOrNull("bos_token_id", textConfig), eosIds(textConfig),
                intOrNull("pad_token_id", textConfig), imageTokenId);
    }

    /**
     * Default decoding per task (captions up to 30 new tokens, VQA answers up to 10, greedy), with the checkpoint's
     * generation_config.json kept under "checkpoint".
     */
    public ObjectNode defaultGeneration() {
        ObjectNode generation = JSON.createObjectNode();
        generation.putObject("caption").put("max_new_tokens", 30).put("min_new_tokens", 0).put("num_beams", 1);
        generation.putObject("vqa").put("max_new_tokens", 10).put("min_new_tokens", 0).put("num_beams", 1);
        if (generationConfig != null) {
            generation.set("checkpoint", generationConfig);
        }
        return generation;
    }

    private int[] eosIds(JsonNode text) {
        JsonNode n = generationConfig != null && generationConfig.has("eos_token_id")
                ? generationConfig.get("eos_token_id")
                : text.has("eos_token_id") ? text.get("eos_token_id") : config.path("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> ids.add(e.asInt()));
        } else if (n.isInt()) {
            ids.add(n.asInt());
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private Integer intOrNull(String key, JsonNode text) {
        if (generationConfig != null && generationConfig.path(key).isInt()) {
            return generationConfig.get(key).asInt();
        }
        if (text.path(key).isInt()) {
            return text.get(key).asInt();
        }
        return config.path(key).isInt() ? config.get(key).asInt() : null;
    }

    private static JsonNode readOptional(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : null;
    }
}
