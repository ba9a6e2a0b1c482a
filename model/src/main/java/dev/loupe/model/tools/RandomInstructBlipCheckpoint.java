package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Generates a random-weight InstructBLIP-Vicuna checkpoint in Hugging Face layout (config.json,
 * generation_config.json, preprocessor_config.json, model.safetensors, tokenizer files, qformer_tokenizer/) of any
 * size, reproducibly from a seed: for benchmarking real shapes without downloading weights. Matrices are drawn
 * from N(0, 0.02²) as transformers initialises them, norms start at weight 1 and bias 0; tensors are written one
 * at a time.
 */
public final class RandomInstructBlipCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double STD = 0.02;

    /** The model's dimensions; {@link #benchmark()} is the benchmark model of docs/benchmarks.md. */
    public record Dims(int imageSize, int patchSize, int visionWidth, int visionLayers, int visionHeads, int visionMlp,
                       int qformerWidth, int qformerLayers, int qformerHeads, int qformerMlp, int qformerVocab,
                       int queries, int llmWidth, int llmLayers, int llmHeads, int llmKvHeads, int llmMlp, int vocab,
                       int maxPositions) {
        public Dims {
            positive("image size", imageSize);
            positive("patch size", patchSize);
            if (imageSize % patchSize != 0) {
                throw new IllegalArgumentException("image size " + imageSize + " is not a multiple of patch size "
                        + patchSize);
            }
            divisible("vision width", visionWidth, "vision heads", visionHeads);
            positive("vision layers", visionLayers);
            positive("vision MLP", visionMlp);
            divisible("Q-Former width", qformerWidth, "Q-Former heads", qformerHeads);
            positive("Q-Former layers", qformerLayers);
            positive("Q-Former MLP", qformerMlp);
            positive("queries", queries);
            divisible("LLM width", llmWidth, "LLM heads", llmHeads);
            positive("LLM layers", llmLayers);
            positive("LLM KV heads", llmKvHeads);
            if (llmHeads % llmKvHeads != 0) {
                throw new IllegalArgumentException("LLM heads " + llmHeads + " must be a multiple of KV heads "
                        + llmKvHeads);
            }
            if ((llmWidth / llmHeads) % 2 != 0) {
                throw new IllegalArgumentException("LLM head size " + llmWidth / llmHeads + " must be even (rotary)");
            }
            positive("LLM MLP", llmMlp);
            if (vocab < GeneratedTokenizers.minVocab() || qformerVocab < GeneratedTokenizers.minVocab()) {
                throw new IllegalArgumentException("vocabularies need at least " + GeneratedTokenizers.minVocab()
                        + " tokens, got LLM " + vocab + " and Q-Former " + qformerVocab);
            }
            positive("max positions", maxPositions);
        }

        /**
         * ViT 224 px / patch 14 / 384 wide / 6 layers / 6 heads / MLP 1536; Q-Former 384 / 4 layers / 6 heads /
         * MLP 1536 / 32 queries / BERT vocabulary 30523; LLaMA 512 / 6 layers / 8 heads / MLP 1408 / vocab 32000.
         */
        public static Dims benchmark() {
            return new Dims(224, 14, 384, 6, 6, 1536, 384, 4, 6, 1536, 30523, 32, 512, 6, 8, 8, 1408, 32000, 2048);
        }

        /**
         * A few-megabyte model with the fixture's proportions (ViT 32 px / patch 8 / 48 wide, Q-Former 32 wide,
         * LLaMA 64 wide x 2 layers): what {@code loupe run} starts with when no model is given.
         */
        public static Dims tiny() {
            int vocab = Math.max(512, GeneratedTokenizers.minVocab());
            return new Dims(32, 8, 48, 2, 4, 112, 32, 2, 4, 64, vocab, 8, 64, 2, 4, 4, 176, vocab, 256);
        }

        /** One line naming the dimensions, for reports. */
        public String describe() {
            return String.format(java.util.Locale.ROOT, "random InstructBLIP-Vicuna: ViT %dpx/patch %d, %d wide x %d layers, "
                    + "%d heads, MLP %d; Q-Former %d wide x %d layers, %d heads, MLP %d, %d queries; LLaMA %d wide x %d "
                    + "layers, %d/%d heads, MLP %d, vocab %d", imageSize, patchSize, visionWidth, visionLayers,
                    visionHeads, visionMlp, qformerWidth, qformerLayers, qformerHeads, qformerMlp, queries, llmWidth,
                    llmLayers, llmHeads, llmKvHeads, llmMlp, vocab);
        }

        public int patches() {
            return (imageSize / patchSize) * (imageSize / patchSize);
        }

        private static void positive(String what, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + v);
            }
        }

        private static void divisible(String what, int v, String by, int d) {
            positive(what, v);
            positive(by, d);
            if (v % d != 0) {
                throw new IllegalArgumentException(what + " " + v + " is not divisible by " + by + " " + d);
            }
        }
    }

    private RandomInstructBlipCheckpoint() {}

    /**
     * Writes the checkpoint into dir (created if needed; must not hold one already).
     *
     * @return the number of parameters written
     */
    public static long write(Path dir, Dims dims, long seed) throws IOException {
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve("config.json"))) {
            throw new IOException(dir + " already holds a checkpoint");
        }
        SafetensorsStreamWriter weights = declareWeights(dims);
        weights.write(dir.resolve("model.safetensors"), (name, shape) -> values(seed, name, shape));
        writeConfig(dir, dims);
        GeneratedTokenizers.writeLanguageModel(dir, dims.vocab());
        GeneratedTokenizers.writeQFormer(dir.resolve("qformer_tokenizer"), dims.qformerVocab());
        return weights.parameterCount();
    }

    private static SafetensorsStreamWriter declareWeights(Dims d) {
        SafetensorsStreamWriter w = new SafetensorsStreamWriter();
        String v = "vision_model.";
        w.declare(v + "embeddings.class_embedding", 1, 1, d.visionWidth());
        w.declare(v + "embeddings.patch_embedding.weight", d.visionWidth(), 3, d.patchSize(), d.patchSize());
        w.declare(v + "embeddings.patch_embedding.bias", d.visionWidth());
        w.declare(v + "embeddings.position_embedding", 1, d.patches() + 1, d.visionWidth());
        for (int i = 0; i < d.visionLayers(); i++) {
            String l = v + "encoder.layers." + i + ".";
            layerNorm(w, l + "layer_norm1", d.visionWidth());
            linear(w, l + "self_attn.qkv", 3 * d.visionWidth(), d.visionWidth());
            linear(w, l + "self_attn.projection", d.visionWidth(), d.visionWidth());
            layerNorm(w, l + "layer_norm2", d.visionWidth());
            linear(w, l + "mlp.fc1", d.visionMlp(), d.visionWidth());
            linear(w, l + "mlp.fc2", d.visionWidth(), d.visionMlp());
        }
        layerNorm(w, v + "post_layernorm", d.visionWidth());

        int q = d.qformerWidth();
        w.declare("query_tokens", 1, d.queries(), q);
        String e = "qformer.embeddings.";
        w.declare(e + "word_embeddings.weight", d.qformerVocab(), q);
        w.declare(e + "position_embeddings.weight", 512, q);
        layerNorm(w, e + "layernorm", q);
        for (int i = 0; i < d.qformerLayers(); i++) {
            String l = "qformer.encoder.layer." + i + ".";
            attention(w, l + "attention.", q, q);
            if (i % 2 == 0) {
                attention(w, l + "crossattention.", q, d.visionWidth());
            }
            linear(w, l + "intermediate.dense", d.qformerMlp(), q);
            linear(w, l + "output.dense", q, d.qformerMlp());
            layerNorm(w, l + "output.LayerNorm", q);
            linear(w, l + "intermediate_query.dense", d.qformerMlp(), q);
            linear(w, l + "output_query.dense", q, d.qformerMlp());
            layerNorm(w, l + "output_query.LayerNorm", q);
        }
        linear(w, "language_projection", d.llmWidth(), q);

        int h = d.llmWidth();
        int head = h / d.llmHeads();
        String m = "language_model.";
        w.declare(m + "model.embed_tokens.weight", d.vocab(), h);
        for (int i = 0; i < d.llmLayers(); i++) {
            String l = m + "model.layers." + i + ".";
            w.declare(l + "input_layernorm.weight", h);
            w.declare(l + "self_attn.q_proj.weight", d.llmHeads() * head, h);
            w.declare(l + "self_attn.k_proj.weight", d.llmKvHeads() * head, h);
            w.declare(l + "self_attn.v_proj.weight", d.llmKvHeads() * head, h);
            w.declare(l + "self_attn.o_proj.weight", h, d.llmHeads() * head);
            w.declare(l + "post_attention_layernorm.weight", h);
            w.declare(l + "mlp.gate_proj.weight", d.llmMlp(), h);
            w.declare(l + "mlp.up_proj.weight", d.llmMlp(), h);
            w.declare(l + "mlp.down_proj.weight", h, d.llmMlp());
        }
        w.declare(m + "model.norm.weight", h);
        w.declare(m + "lm_head.weight", d.vocab(), h);
        return w;
    }

    private static void attention(SafetensorsStreamWriter w, String p, int width, int keyWidth) {
        linear(w, p + "attention.query", width, width);
        linear(w, p + "attention.key", width, keyWidth);
        linear(w, p + "attention.value", width, keyWidth);
        linear(w, p + "output.dense", width, width);
        layerNorm(w, p + "output.LayerNorm", width);
    }

    private static void linear(SafetensorsStreamWriter w, String name, int out, int in) {
        w.declare(name + ".weight", out, in);
        w.declare(name + ".bias", out);
    }

    private static void layerNorm(SafetensorsStreamWriter w, String name, int width) {
        w.declare(name + ".weight", width);
        w.declare(name + ".bias", width);
    }

    /** Norm weights 1, biases 0, everything else N(0, STD²) from a stream seeded by (seed, name). */
    static float[] values(long seed, String name, long[] shape) {
        long count = 1;
        for (long s : shape) {
            count *= s;
        }
        float[] out = new float[Math.toIntExact(count)];
        boolean norm = name.contains("layernorm") || name.contains("LayerNorm") || name.contains("layer_norm")
                || name.endsWith("norm.weight");
        if (norm && name.endsWith(".weight")) {
            java.util.Arrays.fill(out, 1f);
            return out;
        }
        if (name.endsWith(".bias")) {
            return out;
        }
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        for (int i = 0; i < out.length; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double radius = STD * Math.sqrt(-2 * Math.log(u1));
            out[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
            if (i + 1 < out.length) {
                out[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
            }
        }
        return out;
    }

    private static void writeConfig(Path dir, Dims d) throws IOException {
        int pad = GeneratedTokenizers.llmPad(d.vocab());
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("InstructBlipForConditionalGeneration");
        c.put("model_type", "instructblip");
        c.put("num_query_tokens", d.queries());
        c.put("image_token_index", GeneratedTokenizers.llmImage(d.vocab()));
        c.put("use_decoder_only_language_model", true);
        c.put("initializer_range", STD);
        ObjectNode v = c.putObject("vision_config");
        v.put("model_type", "instructblip_vision_model").put("hidden_size", d.visionWidth())
                .put("num_hidden_layers", d.visionLayers()).put("num_attention_heads", d.visionHeads())
                .put("intermediate_size", d.visionMlp()).put("image_size", d.imageSize())
                .put("patch_size", d.patchSize()).put("hidden_act", "gelu").put("layer_norm_eps", 1e-6)
                .put("qkv_bias", true);
        ObjectNode q = c.putObject("qformer_config");
        q.put("model_type", "instructblip_qformer").put("hidden_size", d.qformerWidth())
                .put("num_hidden_layers", d.qformerLayers()).put("num_attention_heads", d.qformerHeads())
                .put("intermediate_size", d.qformerMlp()).put("cross_attention_frequency", 2)
                .put("encoder_hidden_size", d.visionWidth()).put("hidden_act", "gelu").put("layer_norm_eps", 1e-12)
                .put("max_position_embeddings", 512).put("position_embedding_type", "absolute")
                .put("vocab_size", d.qformerVocab()).put("pad_token_id", 0);
        ObjectNode t = c.putObject("text_config");
        t.put("model_type", "llama").put("hidden_size", d.llmWidth()).put("num_hidden_layers", d.llmLayers())
                .put("num_attention_heads", d.llmHeads()).put("num_key_value_heads", d.llmKvHeads())
                .put("head_dim", d.llmWidth() / d.llmHeads()).put("intermediate_size", d.llmMlp())
                .put("vocab_size", d.vocab()).put("max_position_embeddings", d.maxPositions())
                .put("hidden_act", "silu").put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("attention_bias", false).put("mlp_bias", false).put("tie_word_embeddings", false)
                .put("bos_token_id", GeneratedTokenizers.LLM_BOS).put("eos_token_id", GeneratedTokenizers.LLM_EOS)
                .put("pad_token_id", pad);
        t.putNull("rope_scaling");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);

        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", GeneratedTokenizers.LLM_BOS).put("eos_token_id", GeneratedTokenizers.LLM_EOS)
                .put("pad_token_id", pad);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(), g);

        ObjectNode p = JSON.createObjectNode();
        p.put("image_processor_type", "BlipImageProcessor").put("processor_class", "InstructBlipProcessor");
        p.put("do_convert_rgb", true).put("do_resize", true).put("do_rescale", true).put("do_normalize", true);
        p.put("resample", 3).put("rescale_factor", 1.0 / 255);
        p.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
        p.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
        p.putObject("size").put("height", d.imageSize()).put("width", d.imageSize());
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("preprocessor_config.json").toFile(), p);

        ObjectNode proc = JSON.createObjectNode();
        proc.put("processor_class", "InstructBlipProcessor").put("num_query_tokens", d.queries());
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("processor_config.json").toFile(), proc);
    }
}
