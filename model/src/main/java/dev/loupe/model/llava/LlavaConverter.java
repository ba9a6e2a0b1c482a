package dev.loupe.model.llava;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.CheckpointMetadata;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.pkg.PackageWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Converts a Hugging Face LLaVA-1.5 checkpoint ({@code LlavaForConditionalGeneration}: CLIP vision tower, MLP
 * projector, LLaMA) into a model package: three ONNX graphs built in Java from the weights (image features,
 * token embedding, LLaMA decoder with KV cache and selectable logits), the tokenizer and processor files and
 * {@code manifest.json}, written atomically by {@link PackageWriter}.
 */
public final class LlavaConverter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LlavaConverter() {}

    public static Manifest convert(Path checkpointDir, Path outDir) throws IOException {
        return convert(checkpointDir, outDir, Precision.FP32);
    }

    /** Converts with weights stored at the given precision, streaming each weight from the mapped checkpoint. */
    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision) throws IOException {
        return convert(checkpointDir, outDir, precision, DecoderGraphKind.FUSED);
    }

    /** As {@link #convert(Path, Path, Precision)}, with the given kind of decoder graph. */
    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision, DecoderGraphKind decoder)
            throws IOException {
        LlavaConfig config;
        LlamaConfig llama;
        try {
            config = LlavaConfig.load(checkpointDir);
            llama = LlamaConfig.fromJson(config.textConfig());
        } catch (IllegalArgumentException e) {
            throw new IOException(checkpointDir + ": " + e.getMessage(), e);
        }
        return PackageWriter.write(outDir, work -> {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpointDir)) {
                checkLayout(ckpt, checkpointDir);
                OnnxModelWriter.write(LlavaImageGraph.build(config, ckpt, "", llama.hiddenSize(), false),
                        work.resolve(LlavaPackage.IMAGE_FILE), precision);
                OnnxModelWriter.write(LlamaGraphs.tokenEmbedding(ckpt, LlavaPackage.LANGUAGE_MODEL_PREFIX, llama),
                        work.resolve(LlavaPackage.EMBED_FILE), precision);
                OnnxModelWriter.write(DecoderGraphs.decoder(ckpt, LlavaPackage.LANGUAGE_MODEL_PREFIX, llama, decoder,
                        LlamaGraphs.LogitsMode.SELECTABLE), work.resolve(LlavaPackage.DECODER_FILE), precision);
            }
            PackageWriter.copyCheckpointFiles(checkpointDir, work);
            Manifest manifest = manifest(checkpointDir, config, llama, precision, decoder.resolve(llama));
            manifest.write(work);
            return manifest;
        });
    }

    /** The weight layout save_pretrained writes for LLaVA (and the released llava-hf checkpoints use). */
    private static void checkLayout(SafetensorsCheckpoint ckpt, Path checkpointDir) throws IOException {
        String probe = LlavaPackage.LANGUAGE_MODEL_PREFIX + "model.embed_tokens.weight";
        if (!ckpt.has(probe) || !ckpt.has("vision_tower.vision_model.embeddings.class_embedding")) {
            throw new IOException(checkpointDir + " does not have the LLaVA weight layout this build reads ("
                    + probe + ", vision_tower.vision_model.*, multi_modal_projector.*)");
        }
    }

    private static Manifest manifest(Path checkpointDir, LlavaConfig config, LlamaConfig llama, Precision precision,
                                     DecoderGraphKind decoder)
            throws IOException {
        CheckpointMetadata meta = CheckpointMetadata.read(checkpointDir);
        Map<String, String> graphs = new LinkedHashMap<>();
        graphs.put(LlavaPackage.GRAPH_IMAGE, LlavaPackage.IMAGE_FILE);
        graphs.put(LlavaPackage.GRAPH_EMBED, LlavaPackage.EMBED_FILE);
        graphs.put(LlavaPackage.GRAPH_DECODER, LlavaPackage.DECODER_FILE);
        Map<String, String> tokenizers = new LinkedHashMap<>();
        tokenizers.put("language_model", "tokenizer.json");

        ObjectNode dims = JSON.createObjectNode();
        dims.put("image_size", config.vision().imageSize());
        dims.put("patch_size", config.vision().patchSize());
        dims.put("vision_hidden", config.vision().hiddenSize());
        dims.put("vision_layers", config.vision().numLayers());
        dims.put("image_seq_length", config.imageSeqLength());
        dims.put("llm_hidden", llama.hiddenSize());
        dims.put("llm_layers", llama.numHiddenLayers());
        dims.put("llm_heads", llama.numAttentionHeads());
        dims.put("llm_kv_heads", llama.numKeyValueHeads());
        dims.put("vocab_size", llama.vocabSize());
        dims.put("max_positions", llama.maxPositionEmbeddings());
        dims.put(DecoderGraphKind.MANIFEST_FIELD, decoder.label());

        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, LlavaPackage.FAMILY, meta.name(),
                precision.label(), meta.source(), graphs, tokenizers,
                meta.specialTokens(config.textConfig(), config.imageTokenIndex()), dims, meta.preprocessing(),
                meta.defaultGeneration(), meta.config());
    }
}
