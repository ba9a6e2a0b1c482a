package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.CheckpointHash;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Graphs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Converts a Hugging Face InstructBLIP checkpoint into a model package: ONNX graphs built in Java from the weights
 * (vision encoder, Q-Former with projection, token embedding, then the language model: the LLaMA decoder with KV
 * cache for Vicuna checkpoints, family {@value InstructBlipPackage#FAMILY}; the T5 encoder and decoder for Flan-T5
 * ones, family {@value InstructBlipPackage#FAMILY_T5}), the tokenizer and processor files, and
 * {@code manifest.json}. The package is written beside the target and
 * moved into place at the end, so a crash never leaves a half-written package that looks complete.
 */
public final class InstructBlipConverter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Files copied verbatim from the checkpoint; tokenizer loaders then read a package like a checkpoint. */
    private static final List<String> COPIED_FILES = List.of(
            "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
            "tokenizer.model", "spiece.model");

    private InstructBlipConverter() {}

    /** Whether a checkpoint directory holds an InstructBLIP model this converter handles. */
    public static boolean accepts(Path checkpointDir) {
        try {
            JsonNode config = JSON.readTree(checkpointDir.resolve("config.json").toFile());
            return "instructblip".equals(config.path("model_type").asText());
        } catch (IOException e) {
            return false;
        }
    }

    public static Manifest convert(Path checkpointDir, Path outDir) throws IOException {
        return convert(checkpointDir, outDir, Precision.FP32);
    }

    /**
     * Converts with weights stored at the given precision (see {@link OnnxModelWriter} for what fp16 means), streaming
     * each weight from the memory-mapped checkpoint, so the heap needed does not grow with the model.
     */
    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision) throws IOException {
        InstructBlipConfig config = InstructBlipConfig.load(checkpointDir);
        LanguageModel lm = LanguageModel.of(config);

        Path target = outDir.toAbsolutePath().normalize();
        if (Files.exists(target.resolve(Manifest.FILE_NAME))) {
            throw new IOException(target + " already holds a model package; remove it first");
        }
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path work = Files.createTempDirectory(parent, "." + target.getFileName() + ".converting-");
        try {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpointDir)) {
                OnnxModelWriter.write(ImageEncoder.buildVision(config, ckpt), work.resolve(InstructBlipPackage.VISION_FILE),
                        precision);
                OnnxModelWriter.write(ImageEncoder.buildQFormer(config, ckpt), work.resolve(InstructBlipPackage.QFORMER_FILE),
                        precision);
                lm.write(ckpt, work, precision);
            }
            for (String f : COPIED_FILES) {
                Path src = checkpointDir.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, work.resolve(f));
                }
            }
            Path qformerTok = checkpointDir.resolve("qformer_tokenizer");
            if (!Files.isDirectory(qformerTok)) {
                throw new IOException(checkpointDir + " has no qformer_tokenizer/ directory");
            }
            copyTree(qformerTok, work.resolve("qformer_tokenizer"));

            Manifest manifest = manifest(checkpointDir, config, lm, precision);
            manifest.write(work);
            if (Files.exists(target)) {
                try (Stream<Path> s = Files.list(target)) {
                    if (s.findAny().isPresent()) {
                        throw new IOException(target + " exists and is not empty");
                    }
                }
                Files.delete(target);
            }
            Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
            return manifest;
        } finally {
            deleteTree(work);
        }
    }

    private static Manifest manifest(Path checkpointDir, InstructBlipConfig config, LanguageModel lm,
                                     Precision precision) throws IOException {
        JsonNode rawConfig = JSON.readTree(checkpointDir.resolve("config.json").toFile());
        JsonNode generationConfig = readOptional(checkpointDir.resolve("generation_config.json"));
        JsonNode preprocessing = readOptional(checkpointDir.resolve("preprocessor_config.json"));
        if (preprocessing == null) {
            throw new IOException(checkpointDir + " has no preprocessor_config.json");
        }

        Map<String, String> graphs = new LinkedHashMap<>();
        graphs.put(InstructBlipPackage.GRAPH_VISION, InstructBlipPackage.VISION_FILE);
        graphs.put(InstructBlipPackage.GRAPH_QFORMER, InstructBlipPackage.QFORMER_FILE);
        graphs.put(InstructBlipPackage.GRAPH_EMBED, InstructBlipPackage.EMBED_FILE);
        if (lm.t5() != null) {
            graphs.put(InstructBlipPackage.GRAPH_ENCODER, InstructBlipPackage.ENCODER_FILE);
        }
        graphs.put(InstructBlipPackage.GRAPH_DECODER, InstructBlipPackage.DECODER_FILE);
        Map<String, String> tokenizers = new LinkedHashMap<>();
        tokenizers.put("language_model", "tokenizer.json");
        tokenizers.put("qformer", "qformer_tokenizer/tokenizer.json");

        JsonNode text = config.textConfig();
        Integer bos = intOrNull(generationConfig, "bos_token_id", text, "bos_token_id");
        Integer pad = intOrNull(generationConfig, "pad_token_id", text, "pad_token_id");
        int[] eos = eosIds(generationConfig, text);
        Integer image = config.imageTokenIndex() >= 0 ? Math.toIntExact(config.imageTokenIndex()) : null;

        ObjectNode dims = JSON.createObjectNode();
        dims.put("image_size", config.vision().imageSize());
        dims.put("patch_size", config.vision().patchSize());
        dims.put("vision_hidden", config.vision().hiddenSize());
        dims.put("vision_layers", config.vision().numLayers());
        dims.put("qformer_hidden", config.qformer().hiddenSize());
        dims.put("qformer_layers", config.qformer().numLayers());
        dims.put("num_query_tokens", config.numQueryTokens());
        lm.putDimensions(dims);

        ObjectNode generation = JSON.createObjectNode();
        ObjectNode caption = generation.putObject("caption");
        caption.put("max_new_tokens", 30).put("min_new_tokens", 0).put("num_beams", 1);
        ObjectNode vqa = generation.putObject("vqa");
        vqa.put("max_new_tokens", 10).put("min_new_tokens", 0).put("num_beams", 1);
        if (generationConfig != null) {
            generation.set("checkpoint", generationConfig);
        }

        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, lm.family(),
                checkpointDir.toAbsolutePath().normalize().getFileName().toString(), precision.label(),
                new Manifest.Source(checkpointDir.toAbsolutePath().normalize().toString(),
                        CheckpointHash.sha256(checkpointDir), CheckpointHash.fingerprint(checkpointDir)),
                graphs, tokenizers, new Manifest.SpecialTokens(bos, eos, pad, image), dims, preprocessing,
                generation, rawConfig);
    }

    /** The language model half of a checkpoint: exactly one of {@code llama} and {@code t5} is set. */
    private record LanguageModel(LlamaConfig llama, T5Config t5) {
        static LanguageModel of(InstructBlipConfig config) throws IOException {
            String type = config.textConfig().path("model_type").asText();
            try {
                if (config.useDecoderOnlyLanguageModel() && "llama".equals(type)) {
                    return new LanguageModel(LlamaConfig.fromJson(config.textConfig()), null);
                }
                if (!config.useDecoderOnlyLanguageModel() && "t5".equals(type)) {
                    return new LanguageModel(null, T5Config.fromJson(config.textConfig()));
                }
            } catch (IllegalArgumentException e) {
                throw new IOException("unsupported language model: " + e.getMessage(), e);
            }
            throw new IOException("language model type '" + type + "' is not supported; expected llama "
                    + "(decoder-only) or t5 (encoder-decoder)");
        }

        String family() {
            return t5 != null ? InstructBlipPackage.FAMILY_T5 : InstructBlipPackage.FAMILY;
        }

        void write(SafetensorsCheckpoint ckpt, Path work, Precision precision) throws IOException {
            String prefix = InstructBlipPackage.LANGUAGE_MODEL_PREFIX;
            if (t5 != null) {
                OnnxModelWriter.write(T5Graphs.tokenEmbedding(ckpt, prefix, t5),
                        work.resolve(InstructBlipPackage.EMBED_FILE), precision);
                OnnxModelWriter.write(T5Graphs.encoder(ckpt, prefix, t5),
                        work.resolve(InstructBlipPackage.ENCODER_FILE), precision);
                OnnxModelWriter.write(T5Graphs.decoder(ckpt, prefix, t5),
                        work.resolve(InstructBlipPackage.DECODER_FILE), precision);
                return;
            }
            OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, prefix, llama),
                    work.resolve(InstructBlipPackage.EMBED_FILE), precision);
            OnnxModelWriter.write(LlamaGraphs.decoder(ckpt, prefix, llama, LlamaGraphs.LogitsMode.SELECTABLE),
                    work.resolve(InstructBlipPackage.DECODER_FILE), precision);
        }

        void putDimensions(ObjectNode dims) {
            if (t5 != null) {
                dims.put("llm_hidden", t5.dModel());
                dims.put("llm_layers", t5.numLayers());
                dims.put("llm_decoder_layers", t5.numDecoderLayers());
                dims.put("llm_heads", t5.numHeads());
                dims.put("vocab_size", t5.vocabSize());
                dims.put("decoder_start_token_id", t5.decoderStartTokenId());
                return;
            }
            dims.put("llm_hidden", llama.hiddenSize());
            dims.put("llm_layers", llama.numHiddenLayers());
            dims.put("llm_heads", llama.numAttentionHeads());
            dims.put("llm_kv_heads", llama.numKeyValueHeads());
            dims.put("vocab_size", llama.vocabSize());
            dims.put("max_positions", llama.maxPositionEmbeddings());
        }
    }

    private static int[] eosIds(JsonNode generationConfig, JsonNode text) {
        JsonNode n = generationConfig != null && generationConfig.has("eos_token_id")
                ? generationConfig.get("eos_token_id") : text.path("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> ids.add(e.asInt()));
        } else if (n.isInt()) {
            ids.add(n.asInt());
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static Integer intOrNull(JsonNode first, String firstKey, JsonNode second, String secondKey) {
        if (first != null && first.path(firstKey).isInt()) {
            return first.get(firstKey).asInt();
        }
        return second.path(secondKey).isInt() ? second.get(secondKey).asInt() : null;
    }

    private static JsonNode readOptional(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : null;
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path to = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
