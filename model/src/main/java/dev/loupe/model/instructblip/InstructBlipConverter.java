package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.llm.OptConfig;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.CheckpointMetadata;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.pkg.PackageWriter;
import dev.loupe.model.t5.FusedT5Graphs;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Graphs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Converts a Hugging Face InstructBLIP or BLIP-2 checkpoint (BLIP-2 has the same vision tower and Q-Former modules,
 * its Q-Former running on the queries alone) into a model package: ONNX graphs built in Java from the weights (vision
 * encoder, Q-Former with projection, token embedding, then the language model: a decoder with KV cache for
 * LLaMA/Vicuna and OPT, or the T5 encoder and decoder for Flan-T5), the tokenizer and processor files, and
 * {@code manifest.json}, written atomically by {@link PackageWriter}.
 */
public final class InstructBlipConverter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private InstructBlipConverter() {}

    public static Manifest convert(Path checkpointDir, Path outDir) throws IOException {
        return convert(checkpointDir, outDir, Precision.FP32);
    }

    /**
     * Converts an InstructBLIP or a BLIP-2 checkpoint with weights stored at the given precision (see
     * {@link OnnxModelWriter} for what fp16 means), streaming each weight from the memory-mapped checkpoint, so the
     * heap needed does not grow with the model. The package's family follows the model and its language model
     * ({@link InstructBlipPackage#FAMILIES}).
     */
    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision) throws IOException {
        return convert(checkpointDir, outDir, precision, DecoderGraphKind.FUSED);
    }

    /** As {@link #convert(Path, Path, Precision)}, with the given kind of LLaMA decoder graph. */
    public static Manifest convert(Path checkpointDir, Path outDir, Precision precision, DecoderGraphKind decoder)
            throws IOException {
        InstructBlipConfig config;
        try {
            config = InstructBlipConfig.load(checkpointDir);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return convert(checkpointDir, outDir, precision, decoder, config, config.qformerTextInput()
                ? InstructBlipPackage.FAMILY : blip2Family(config));
    }

    /** BLIP-2's family, which names its language model: only OPT and Flan-T5 are built. */
    private static String blip2Family(InstructBlipConfig config) throws IOException {
        String lm = config.textConfig().path("model_type").asText();
        return switch (lm) {
            case "opt" -> InstructBlipPackage.FAMILY_BLIP2_OPT;
            case "t5" -> InstructBlipPackage.FAMILY_BLIP2_T5;
            default -> throw new IOException("BLIP-2 with a '" + lm
                    + "' language model is not supported by this build; only OPT and Flan-T5");
        };
    }

    /**
     * Converts any checkpoint of the Q-Former family (InstructBLIP, BLIP-2) into a package of the given family
     * (the InstructBLIP one names the decoder-only family, a Flan-T5 model becoming
     * {@value InstructBlipPackage#FAMILY_T5}). The Q-Former tokenizer is copied when the Q-Former takes text.
     */
    private static Manifest convert(Path checkpointDir, Path outDir, Precision precision, DecoderGraphKind decoder,
                                    InstructBlipConfig config, String family) throws IOException {
        LanguageModel lm = LanguageModel.of(checkpointDir, config, decoder);
        if (precision.computesInHalf() && (lm.t5() != null || lm.decoder() instanceof OptConfig
                || lm.kind().resolve(lm.decoder()) != DecoderGraphKind.FUSED)) { // the fused OPT graph has no float16 rules
            throw new IOException("fp16-compute packages need a LLaMA language model with the fused decoder graph; "
                    + checkpointDir + " has " + (lm.t5() != null ? "a Flan-T5 language model"
                    : "language model type '" + config.textConfig().path("model_type").asText("llama") + "' with the "
                    + lm.kind().resolve(lm.decoder()).label() + " decoder graph") + " (convert it with --dtype fp16 or fp32)");
        }
        return PackageWriter.write(outDir, work -> {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpointDir)) {
                OnnxModelWriter.write(ImageEncoder.buildVision(config, ckpt), work.resolve(InstructBlipPackage.VISION_FILE),
                        precision);
                OnnxModelWriter.write(ImageEncoder.buildQFormer(config, ckpt), work.resolve(InstructBlipPackage.QFORMER_FILE),
                        precision);
                lm.write(ckpt, work, precision);
            }
            PackageWriter.copyCheckpointFiles(checkpointDir, work);
            if (config.qformerTextInput()) {
                Path qformerTok = checkpointDir.resolve("qformer_tokenizer");
                if (!Files.isDirectory(qformerTok)) {
                    throw new IOException(checkpointDir + " has no qformer_tokenizer/ directory");
                }
                PackageWriter.copyTree(qformerTok, work.resolve("qformer_tokenizer"));
            }

            Manifest manifest = manifest(checkpointDir, config, lm, precision, lm.family(family));
            manifest.write(work);
            return manifest;
        });
    }

    private static Manifest manifest(Path checkpointDir, InstructBlipConfig config, LanguageModel lm,
                                     Precision precision, String family) throws IOException {
        CheckpointMetadata meta = CheckpointMetadata.read(checkpointDir);

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
        lm.putDimensions(dims);

        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, family, meta.name(),
                precision.label(), meta.source(), graphs, tokenizers, meta.specialTokens(config.textConfig(), image),
                dims, meta.preprocessing(), meta.defaultGeneration(), meta.config());
    }

    /**
     * The language model half of a checkpoint: exactly one of {@code decoder} and {@code t5} is set; {@code kind} is
     * the decoder graph asked for.
     */
    private record LanguageModel(DecoderConfig decoder, T5Config t5, DecoderGraphKind kind) {
        static LanguageModel of(Path checkpointDir, InstructBlipConfig config, DecoderGraphKind kind)
                throws IOException {
            String type = config.textConfig().path("model_type").asText();
            try {
                if (config.useDecoderOnlyLanguageModel()) {
                    return new LanguageModel(DecoderGraphs.config(config.textConfig()), null, kind);
                }
                if ("t5".equals(type)) {
                    return new LanguageModel(null, T5Config.fromJson(config.textConfig()), kind);
                }
            } catch (IllegalArgumentException e) {
                throw new IOException(checkpointDir + ": unsupported language model: " + e.getMessage(), e);
            }
            throw new IOException(checkpointDir + ": encoder-decoder language model type '" + type
                    + "' is not supported; expected t5");
        }

        /** The package family: the one asked for; InstructBLIP's decoder-only family becomes its T5 family. */
        String family(String family) {
            return t5 != null && InstructBlipPackage.FAMILY.equals(family) ? InstructBlipPackage.FAMILY_T5 : family;
        }

        void write(SafetensorsCheckpoint ckpt, Path work, Precision precision) throws IOException {
            String prefix = InstructBlipPackage.LANGUAGE_MODEL_PREFIX;
            if (t5 != null) {
                OnnxModelWriter.write(T5Graphs.tokenEmbedding(ckpt, prefix, t5),
                        work.resolve(InstructBlipPackage.EMBED_FILE), precision);
                boolean fused = kind == DecoderGraphKind.FUSED;
                OnnxModelWriter.write(fused ? FusedT5Graphs.encoder(ckpt, prefix, t5)
                        : T5Graphs.encoder(ckpt, prefix, t5), work.resolve(InstructBlipPackage.ENCODER_FILE), precision);
                OnnxModelWriter.write(fused ? FusedT5Graphs.decoder(ckpt, prefix, t5)
                        : T5Graphs.decoder(ckpt, prefix, t5), work.resolve(InstructBlipPackage.DECODER_FILE), precision);
                return;
            }
            OnnxModelWriter.write(DecoderGraphs.tokenEmbedding(ckpt, prefix, decoder),
                    work.resolve(InstructBlipPackage.EMBED_FILE), precision);
            OnnxModelWriter.write(DecoderGraphs.decoder(ckpt, prefix, decoder, kind, LlamaGraphs.LogitsMode.SELECTABLE),
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
                dims.put(DecoderGraphKind.MANIFEST_FIELD, kind.label()); // the encoder's graph follows the decoder's
                return;
            }
            dims.put("llm_hidden", decoder.hiddenSize());
            dims.put("llm_layers", decoder.numHiddenLayers());
            dims.put("llm_heads", decoder.numAttentionHeads());
            dims.put("llm_kv_heads", decoder.numKeyValueHeads());
            dims.put("vocab_size", decoder.vocabSize());
            dims.put("max_positions", decoder.maxPositionEmbeddings());
            dims.put(DecoderGraphKind.MANIFEST_FIELD, kind.resolve(decoder).label());
        }
    }
}
