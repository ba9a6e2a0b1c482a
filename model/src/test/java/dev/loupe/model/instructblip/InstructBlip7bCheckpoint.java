package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.checkpoint.StreamingCheckpointWriter;
import dev.loupe.model.checkpoint.StreamingCheckpointWriter.Tensor;
import dev.loupe.model.testing.HfFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Test tool: a random-weight InstructBLIP-Vicuna checkpoint in Hugging Face layout with the real 7B dimensions
 * (vision 1408 wide / 16 heads / patch 14 / 224 px / MLP 6144; Q-Former 768 / 12 heads / 32 queries / cross-attention
 * every 2nd layer / MLP 3072; LLaMA 4096 / 32 heads / MLP 11008 / vocabulary 32001) and as few layers as asked,
 * streamed to disk. Tokenizer and processor files come from the tiny fixture (its 386 Vicuna and 201 Q-Former ids
 * are inside both vocabularies; {@code <image>} is id 385 = image_token_index). lm_head rows from 386 on are zero so
 * that greedy picks ids the fixture tokenizer can decode.
 */
final class InstructBlip7bCheckpoint {
    static final int VISION = 1408;
    static final int VISION_MLP = 6144;
    static final int PATCH = 14;
    static final int IMAGE = 224;
    static final int QFORMER = 768;
    static final int QFORMER_MLP = 3072;
    static final int QFORMER_POSITIONS = 512;
    static final int QUERIES = 32;
    static final int LLM = 4096;
    static final int LLM_MLP = 11008;
    static final int VOCAB = 32001;
    static final int LLM_HEAD_DIM = 128;
    static final int LLM_POSITIONS = 2048;
    /** Ids the fixture's Vicuna tokenizer knows. */
    static final int TOKENIZER_VOCAB = 386;

    private static final ObjectMapper JSON = new ObjectMapper();

    private InstructBlip7bCheckpoint() {}

    /** Writes the checkpoint into dir; returns the bytes of tensor data written. */
    static long write(Path dir, int visionLayers, int qformerLayers, int llmLayers, DType dtype, long maxShardBytes)
            throws IOException {
        Files.createDirectories(dir);
        Path fixture = HfFixture.VICUNA.checkpoint();
        try (Stream<Path> files = Files.list(fixture)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.endsWith(".safetensors") && !name.endsWith(".index.json")) {
                    Files.copy(f, dir.resolve(name));
                }
            }
        }
        Files.createDirectories(dir.resolve("qformer_tokenizer"));
        try (Stream<Path> files = Files.list(fixture.resolve("qformer_tokenizer"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dir.resolve("qformer_tokenizer").resolve(f.getFileName().toString()));
            }
        }
        writeConfig(dir, visionLayers, qformerLayers, llmLayers);
        ObjectNode pre = (ObjectNode) JSON.readTree(dir.resolve("preprocessor_config.json").toFile());
        pre.putObject("size").put("height", IMAGE).put("width", IMAGE);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("preprocessor_config.json").toFile(), pre);

        StreamingCheckpointWriter.Values random = StreamingCheckpointWriter.random(7, 0.02);
        StreamingCheckpointWriter.Values values = (t, start, dst, len) -> {
            random.fill(t, start, dst, len);
            if (t.name().equals("language_model.lm_head.weight")) {
                for (int i = 0; i < len; i++) {
                    if ((start + i) / LLM >= TOKENIZER_VOCAB) {
                        dst[i] = 0;
                    }
                }
            }
        };
        return StreamingCheckpointWriter.write(dir, tensors(visionLayers, qformerLayers, llmLayers), dtype,
                maxShardBytes, values);
    }

    private static void writeConfig(Path dir, int visionLayers, int qformerLayers, int llmLayers) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        c.put("num_query_tokens", QUERIES);
        ObjectNode v = (ObjectNode) c.get("vision_config");
        v.put("hidden_size", VISION).put("num_attention_heads", 16).put("patch_size", PATCH).put("image_size", IMAGE)
                .put("intermediate_size", VISION_MLP).put("num_hidden_layers", visionLayers);
        ObjectNode q = (ObjectNode) c.get("qformer_config");
        q.put("hidden_size", QFORMER).put("num_attention_heads", 12).put("intermediate_size", QFORMER_MLP)
                .put("num_hidden_layers", qformerLayers).put("cross_attention_frequency", 2)
                .put("encoder_hidden_size", VISION).put("max_position_embeddings", QFORMER_POSITIONS);
        ObjectNode t = (ObjectNode) c.get("text_config");
        t.put("hidden_size", LLM).put("num_attention_heads", 32).put("num_key_value_heads", 32).put("head_dim", LLM_HEAD_DIM)
                .put("intermediate_size", LLM_MLP).put("num_hidden_layers", llmLayers).put("vocab_size", VOCAB)
                .put("max_position_embeddings", LLM_POSITIONS);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);
    }

    static List<Tensor> tensors(int visionLayers, int qformerLayers, int llmLayers) {
        List<Tensor> out = new ArrayList<>();
        String e = "vision_model.embeddings.";
        int patches = (IMAGE / PATCH) * (IMAGE / PATCH);
        out.add(new Tensor(e + "class_embedding", 1, 1, VISION));
        out.add(new Tensor(e + "patch_embedding.weight", VISION, 3, PATCH, PATCH));
        out.add(new Tensor(e + "patch_embedding.bias", VISION));
        out.add(new Tensor(e + "position_embedding", 1, patches + 1, VISION));
        for (int l = 0; l < visionLayers; l++) {
            String p = "vision_model.encoder.layers." + l + ".";
            layerNorm(out, p + "layer_norm1", VISION);
            layerNorm(out, p + "layer_norm2", VISION);
            linear(out, p + "mlp.fc1", VISION_MLP, VISION);
            linear(out, p + "mlp.fc2", VISION, VISION_MLP);
            linear(out, p + "self_attn.projection", VISION, VISION);
            linear(out, p + "self_attn.qkv", 3 * VISION, VISION);
        }
        layerNorm(out, "vision_model.post_layernorm", VISION);

        out.add(new Tensor("query_tokens", 1, QUERIES, QFORMER));
        layerNorm(out, "qformer.embeddings.layernorm", QFORMER);
        out.add(new Tensor("qformer.embeddings.position_embeddings.weight", QFORMER_POSITIONS, QFORMER));
        out.add(new Tensor("qformer.embeddings.word_embeddings.weight", 201, QFORMER));
        for (int l = 0; l < qformerLayers; l++) {
            String p = "qformer.encoder.layer." + l + ".";
            attention(out, p + "attention.", QFORMER);
            if (l % 2 == 0) {
                attention(out, p + "crossattention.", VISION);
            }
            linear(out, p + "intermediate.dense", QFORMER_MLP, QFORMER);
            linear(out, p + "intermediate_query.dense", QFORMER_MLP, QFORMER);
            linear(out, p + "output.dense", QFORMER, QFORMER_MLP);
            layerNorm(out, p + "output.LayerNorm", QFORMER);
            linear(out, p + "output_query.dense", QFORMER, QFORMER_MLP);
            layerNorm(out, p + "output_query.LayerNorm", QFORMER);
        }
        linear(out, "language_projection", LLM, QFORMER);

        out.add(new Tensor("language_model.model.embed_tokens.weight", VOCAB, LLM));
        for (int l = 0; l < llmLayers; l++) {
            String p = "language_model.model.layers." + l + ".";
            out.add(new Tensor(p + "input_layernorm.weight", LLM));
            out.add(new Tensor(p + "post_attention_layernorm.weight", LLM));
            for (String proj : new String[] {"q", "k", "v", "o"}) {
                out.add(new Tensor(p + "self_attn." + proj + "_proj.weight", LLM, LLM));
            }
            out.add(new Tensor(p + "mlp.gate_proj.weight", LLM_MLP, LLM));
            out.add(new Tensor(p + "mlp.up_proj.weight", LLM_MLP, LLM));
            out.add(new Tensor(p + "mlp.down_proj.weight", LLM, LLM_MLP));
        }
        out.add(new Tensor("language_model.model.norm.weight", LLM));
        out.add(new Tensor("language_model.lm_head.weight", VOCAB, LLM));
        return out;
    }

    /** BERT-style attention block: query from the Q-Former, key/value from a kvWidth-wide input. */
    private static void attention(List<Tensor> out, String p, int kvWidth) {
        linear(out, p + "attention.query", QFORMER, QFORMER);
        linear(out, p + "attention.key", QFORMER, kvWidth);
        linear(out, p + "attention.value", QFORMER, kvWidth);
        linear(out, p + "output.dense", QFORMER, QFORMER);
        layerNorm(out, p + "output.LayerNorm", QFORMER);
    }

    private static void linear(List<Tensor> out, String name, int outDim, int inDim) {
        out.add(new Tensor(name + ".weight", outDim, inDim));
        out.add(new Tensor(name + ".bias", outDim));
    }

    private static void layerNorm(List<Tensor> out, String name, int dim) {
        out.add(new Tensor(name + ".weight", dim));
        out.add(new Tensor(name + ".bias", dim));
    }
}
