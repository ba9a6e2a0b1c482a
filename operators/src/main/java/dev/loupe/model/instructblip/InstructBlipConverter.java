package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.CheckpointMetadata;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.pkg.PackageWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Converts a Hugging Face InstructBLIP (Vicuna/LLaMA) checkpoint into a model package: four ONNX graphs built in
 * Java from the weights (vision encoder, Q-Former with projection, token embedding, LLaMA decoder with KV cache),
 * the tokenizer and processor files, and {@code manifest.json}, written atomically by {@link PackageWriter}.
 */
public final class InstructBlipConverter {
    private static final ObjectMapper JSON = new ObjectMapper();

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
        if (!config.qformerTextInput()) {
            throw new IOException(checkpointDir + " holds a BLIP-2 checkpoint, not InstructBLIP");
        }
        return convertQFormerModel(checkpointDir, outDir, precision, config, InstructBlipPackage.FAMILY);
    }

    /**
     * Converts any checkpoint of the Q-Former family (InstructBLIP, BLIP-2) with a decoder-only language model that
     * {@link DecoderGraphs} builds, into a package of the given family. The Q-Former tokenizer is copied when the
     * Q-Former takes text.
     */
    public static Manifest convertQFormerModel(Path checkpointDir, Path outDir, Precision precision,
                                               InstructBlipConfig config, String family) throws IOException {
        if (!config.useDecoderOnlyLanguageModel()) {
            throw new IOException("an encoder-decoder language model (FlanT5) is not supported by this build; only "
                    + "decoder-only ones (LLaMA/Vicuna, OPT) are");
        }
        DecoderConfig llm;
        try {
            llm = DecoderGraphs.config(config.textConfig());
        } catch (IllegalArgumentException e) {
            throw new IOException(checkpointDir + ": " + e.getMessage(), e);
        }

        return PackageWriter.write(outDir, work -> {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpointDir)) {
                OnnxModelWriter.write(ImageEncoder.buildVision(config, ckpt), work.resolve(InstructBlipPackage.VISION_FILE),
                        precision);
                OnnxModelWriter.write(ImageEncoder.buildQFormer(config, ckpt), work.resolve(InstructBlipPackage.QFORMER_FILE),
                        precision);
                OnnxModelWriter.write(DecoderGraphs.tokenEmbedding(ckpt, InstructBlipPackage.LANGUAGE_MODEL_PREFIX, llm),
                        work.resolve(InstructBlipPackage.EMBED_FILE), precision);
                OnnxModelWriter.write(DecoderGraphs.decoder(ckpt, InstructBlipPackage.LANGUAGE_MODEL_PREFIX, llm,
                        LlamaGraphs.LogitsMode.SELECTABLE), work.resolve(InstructBlipPackage.DECODER_FILE), precision);
            }
            PackageWriter.copyCheckpointFiles(checkpointDir, work);
            if (config.qformerTextInput()) {
                Path qformerTok = checkpointDir.resolve("qformer_tokenizer");
                if (!Files.isDirectory(qformerTok)) {
                    throw new IOException(checkpointDir + " has no qformer_tokenizer/ directory");
                }
                PackageWriter.copyTree(qformerTok, work.resolve("qformer_tokenizer"));
            }

            Manifest manifest = manifest(checkpointDir, config, llm, precision, family);
            manifest.write(work);
            return manifest;
        });
    }

    private static Manifest manifest(Path checkpointDir, InstructBlipConfig config, DecoderConfig llm,
                                     Precision precision, String family) throws IOException {
        CheckpointMetadata meta = CheckpointMetadata.read(checkpointDir);

        Map<String, String> graphs = new LinkedHashMap<>();
        graphs.put(InstructBlipPackage.GRAPH_VISION, InstructBlipPackage.VISION_FILE);
        graphs.put(InstructBlipPackage.GRAPH_QFORMER, InstructBlipPackage.QFORMER_FILE);
        graphs.put(InstructBlipPackage.GRAPH_EMBED, InstructBlipPackage.EMBED_FILE);
        graphs.put(InstructBlipPackage.GRAPH_DECODER, InstructBlipPackage.DECODER_FILE);
        Map<String, String> tokenizers = new LinkedHashMap<>();
        tokenizers.put("language_model", "tokenizer.json");
        if (config.qformerTextInput()) {
            tokenizers.put("qformer", "qformer_tokenizer/tokenizer.json");
        }

        Integer image = config.imageTokenIndex() >= 0 ? Math.toIntExact(config.imageTokenIndex()) : null;

        ObjectNode dims = JSON.createObjectNode();
        dims.put("image_size", config.vision().imageSize());
        dims.put("patch_size", config.vision().patchSize());
        dims.put("vision_hidden", config.vision().hiddenSize());
        dims.put("vision_layers", config.vision().numLayers());
        dims.put("qformer_hidden", config.qformer().hiddenSize());
        dims.put("qformer_layers", config.qformer().numLayers());
        dims.put("num_query_tokens", config.numQueryTokens());
        dims.put("llm_hidden", llm.hiddenSize());
        dims.put("llm_layers", llm.numHiddenLayers());
        dims.put("llm_heads", llm.numAttentionHeads());
        dims.put("llm_kv_heads", llm.numKeyValueHeads());
        dims.put("vocab_size", llm.vocabSize());
        dims.put("max_positions", llm.maxPositionEmbeddings());

        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, family, meta.name(),
                precision.label(), meta.source(), graphs, tokenizers, meta.specialTokens(config.textConfig(), image),
                dims, meta.preprocessing(), meta.defaultGeneration(), meta.config());
    }
}
