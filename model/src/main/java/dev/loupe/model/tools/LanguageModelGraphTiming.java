package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.llm.OptConfig;
import dev.loupe.model.llm.OptGraphs;
import dev.loupe.model.llm.PrefixStepDecoder;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.t5.FusedT5Graphs;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Graphs;
import dev.loupe.model.t5.T5Runner;
import dev.loupe.model.t5.T5StepDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fused and the plain language-model graphs of BLIP-2's OPT and Flan-T5 at real widths, timed against each other
 * through the runtime's decoding path ({@link DecoderStepComparison}, alternating round by round): a random-weight
 * language model (no download) of OPT-2.7B's or Flan-T5-XL's dimensions with few layers is written, both graph kinds
 * are built from it, and the prefill (for T5: the encoder and the first decoder step) and the decoding step are
 * timed. The LM head (vocab × width) runs in both, so per-layer differences show more with more layers.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.LanguageModelGraphTiming opt|t5 LAYERS THREADS BATCH PREFIX
 * STEPS ROUNDS WORK_DIR}
 */
public final class LanguageModelGraphTiming {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "language_model.";

    private LanguageModelGraphTiming() {}

    /** OPT-2.7B's text config with {@code layers} layers. */
    public static OptConfig opt27b(int layers) {
        return new OptConfig(50272, 2560, 10240, layers, 32, 2048, true, false, true, true);
    }

    /** Flan-T5-XL's text config with {@code layers} encoder and decoder layers. */
    public static T5Config flanT5Xl(int layers) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "t5").put("d_model", 2048).put("d_kv", 64).put("d_ff", 5120).put("num_heads", 32)
                .put("num_layers", layers).put("num_decoder_layers", layers)
                .put("relative_attention_num_buckets", 32).put("relative_attention_max_distance", 128)
                .put("layer_norm_epsilon", 1e-6).put("vocab_size", 32128).put("feed_forward_proj", "gated-gelu")
                .put("tie_word_embeddings", false).put("decoder_start_token_id", 0);
        return T5Config.fromJson(c);
    }

    /** Writes a random OPT language model ({@code language_model.*}) and its embedding, fused and plain graphs. */
    static void writeOpt(Path dir, OptConfig c) throws IOException {
        SafetensorsStreamWriter w = new SafetensorsStreamWriter();
        String d = PREFIX + "model.decoder.";
        int h = c.hiddenSize();
        w.declare(d + "embed_tokens.weight", c.vocabSize(), h);
        w.declare(d + "embed_positions.weight", c.maxPositionEmbeddings() + OptConfig.POSITION_OFFSET, h);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = d + "layers." + i + ".";
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                linear(w, l + "self_attn." + proj, h, h);
            }
            linear(w, l + "self_attn_layer_norm", h);
            linear(w, l + "fc1", c.ffnDim(), h);
            linear(w, l + "fc2", h, c.ffnDim());
            linear(w, l + "final_layer_norm", h);
        }
        linear(w, d + "final_layer_norm", h);
        Path weights = dir.resolve("model.safetensors");
        w.write(weights, (name, shape) -> RandomInstructBlipCheckpoint.values(7, name, shape));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            OnnxModelWriter.write(OptGraphs.tokenEmbedding(ckpt, PREFIX, c), dir.resolve("embed.onnx"));
            for (DecoderGraphKind kind : DecoderGraphKind.values()) {
                OnnxModelWriter.write(DecoderGraphs.decoder(ckpt, PREFIX, c, kind, LlamaGraphs.LogitsMode.SELECTABLE),
                        dir.resolve("decoder-" + kind.label() + ".onnx"));
            }
        }
    }

    /** Writes a random T5 language model ({@code language_model.*}) and its embedding, fused and plain graphs. */
    static void writeT5(Path dir, T5Config c) throws IOException {
        SafetensorsStreamWriter w = new SafetensorsStreamWriter();
        int d = c.dModel();
        int inner = c.innerDim();
        w.declare(PREFIX + "shared.weight", c.vocabSize(), d);
        for (String stack : List.of("encoder", "decoder")) {
            int layers = stack.equals("encoder") ? c.numLayers() : c.numDecoderLayers();
            for (int i = 0; i < layers; i++) {
                String b = PREFIX + stack + ".block." + i + ".layer.";
                List<String> attentions = stack.equals("encoder") ? List.of("0.SelfAttention")
                        : List.of("0.SelfAttention", "1.EncDecAttention");
                for (String a : attentions) {
                    for (String proj : List.of("q", "k", "v")) {
                        w.declare(b + a + "." + proj + ".weight", inner, d);
                    }
                    w.declare(b + a + ".o.weight", d, inner);
                    if (i == 0 && a.endsWith("SelfAttention")) {
                        w.declare(b + a + ".relative_attention_bias.weight", c.relativeAttentionNumBuckets(),
                                c.numHeads());
                    }
                    w.declare(b + a.charAt(0) + ".layer_norm.weight", d);
                }
                String ff = b + attentions.size() + ".";
                w.declare(ff + "DenseReluDense.wi_0.weight", c.dFf(), d);
                w.declare(ff + "DenseReluDense.wi_1.weight", c.dFf(), d);
                w.declare(ff + "DenseReluDense.wo.weight", d, c.dFf());
                w.declare(ff + "layer_norm.weight", d);
            }
            w.declare(PREFIX + stack + ".final_layer_norm.weight", d);
        }
        w.declare(PREFIX + "lm_head.weight", c.vocabSize(), d);
        w.write(dir.resolve("model.safetensors"), (name, shape) -> RandomInstructBlipCheckpoint.values(7, name, shape));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            OnnxModelWriter.write(T5Graphs.tokenEmbedding(ckpt, PREFIX, c), dir.resolve("embed.onnx"));
            OnnxModelWriter.write(FusedT5Graphs.encoder(ckpt, PREFIX, c), dir.resolve("encoder-fused.onnx"));
            OnnxModelWriter.write(FusedT5Graphs.decoder(ckpt, PREFIX, c), dir.resolve("decoder-fused.onnx"));
            OnnxModelWriter.write(T5Graphs.encoder(ckpt, PREFIX, c), dir.resolve("encoder-plain.onnx"));
            OnnxModelWriter.write(T5Graphs.decoder(ckpt, PREFIX, c), dir.resolve("decoder-plain.onnx"));
        }
    }

    private static void linear(SafetensorsStreamWriter w, String name, int... shape) {
        w.declare(name + ".weight", java.util.Arrays.stream(shape).asLongStream().toArray());
        w.declare(name + ".bias", shape[0]);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 8 || !List.of("opt", "t5").contains(args[0])) {
            System.err.println("usage: LanguageModelGraphTiming opt|t5 LAYERS THREADS BATCH PREFIX STEPS ROUNDS "
                    + "WORK_DIR");
            System.exit(2);
        }
        boolean t5 = args[0].equals("t5");
        int layers = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        int batch = Integer.parseInt(args[3]);
        int prefix = Integer.parseInt(args[4]);
        int steps = Integer.parseInt(args[5]);
        int rounds = Integer.parseInt(args[6]);
        Path dir = Files.createDirectories(Path.of(args[7]));
        RuntimeOptions options = RuntimeOptions.cpu(threads);
        OptConfig opt = opt27b(layers);
        T5Config flan = flanT5Xl(layers);
        if (!Files.exists(dir.resolve("embed.onnx"))) {
            if (t5) {
                writeT5(dir, flan);
            } else {
                writeOpt(dir, opt);
            }
        }
        List<StepDecoder> decoders = new ArrayList<>();
        List<String> kinds = List.of("fused", "plain");
        try {
            for (String kind : kinds) {
                decoders.add(t5
                        ? new T5StepDecoder(T5Runner.open(dir.resolve("embed.onnx"),
                                dir.resolve("encoder-" + kind + ".onnx"), dir.resolve("decoder-" + kind + ".onnx"),
                                flan, options))
                        : new PrefixStepDecoder(LanguageModelRunner.open(dir.resolve("embed.onnx"),
                                dir.resolve("decoder-" + kind + ".onnx"), opt, options), 1));
            }
            System.out.printf(Locale.ROOT, "%s, %d layers: batch %d, prefix %d, %d steps, %d rounds, %d threads%n",
                    t5 ? "Flan-T5-XL dimensions" : "OPT-2.7B dimensions", layers, batch, prefix, steps, rounds,
                    threads);
            DecoderStepComparison.print(DecoderStepComparison.compare(decoders,
                    kinds.stream().map(k -> dir + " " + k).toList(), kinds, batch, prefix, steps, rounds));
        } finally {
            for (StepDecoder d : decoders) {
                d.close();
            }
        }
    }
}
