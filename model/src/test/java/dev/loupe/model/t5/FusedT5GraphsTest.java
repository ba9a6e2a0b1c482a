package dev.loupe.model.t5;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.instructblip.InstructBlipConfig;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.EncoderGraphTiming;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused T5 graphs ({@link FusedT5Graphs}) against the plain ones ({@link T5Graphs}, the reference) on the
 * instructblip-flant5 fixture's weights: a right-padded encoder batch, then decoder runs of several tokens at once
 * (the causal mask) and single steps after a cache give every row the same numbers; and ONNX Runtime runs the fused
 * kernels.
 */
class FusedT5GraphsTest {
    private static final float TOLERANCE = 1e-5f;
    /** Logits (up to about 14 in magnitude here) differ by float rounding: the parity tests' threshold. */
    private static final float LOGITS_TOLERANCE = 1e-4f;
    private static final String PREFIX = "language_model.";

    @TempDir
    static Path dir;
    static T5Config config;
    static T5Runner fused;
    static T5Runner plain;

    @BeforeAll
    static void build() throws Exception {
        Path checkpoint = HfFixture.named("instructblip-flant5").checkpoint();
        config = T5Config.fromJson(InstructBlipConfig.load(checkpoint).textConfig());
        assertThat(config.activation()).isEqualTo(dev.loupe.model.layers.Activation.GELU_TANH);
        Path f = Files.createDirectories(dir.resolve("fused"));
        Path p = Files.createDirectories(dir.resolve("plain"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            OnnxModelWriter.write(T5Graphs.tokenEmbedding(ckpt, PREFIX, config), dir.resolve("embed.onnx"));
            OnnxModelWriter.write(FusedT5Graphs.encoder(ckpt, PREFIX, config), f.resolve("encoder.onnx"));
            OnnxModelWriter.write(FusedT5Graphs.decoder(ckpt, PREFIX, config), f.resolve("decoder.onnx"));
            OnnxModelWriter.write(T5Graphs.encoder(ckpt, PREFIX, config), p.resolve("encoder.onnx"));
            OnnxModelWriter.write(T5Graphs.decoder(ckpt, PREFIX, config), p.resolve("decoder.onnx"));
        }
        fused = T5Runner.open(dir.resolve("embed.onnx"), f.resolve("encoder.onnx"), f.resolve("decoder.onnx"), config,
                RuntimeOptions.cpu(1));
        plain = T5Runner.open(dir.resolve("embed.onnx"), p.resolve("encoder.onnx"), p.resolve("decoder.onnx"), config,
                RuntimeOptions.cpu(1));
    }

    @AfterAll
    static void close() throws Exception {
        fused.close();
        plain.close();
    }

    @Test
    void fusedGraphsEqualThePlainOnesOnARightPaddedBatch() throws Exception {
        int[] lengths = {6, 11, 3};
        int rows = lengths.length;
        int longest = 11;
        int d = config.dModel();
        long[] ids = new long[rows * longest];
        long[] mask = new long[rows * longest];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < lengths[r]; t++) {
                ids[r * longest + t] = 2 + (31L * r + 7L * t) % (config.vocabSize() - 2);
                mask[r * longest + t] = 1;
            }
        }
        float[] embeds = plain.embed(ids, rows, longest);
        float[] hf = fused.encoderHiddenStates(embeds, rows, longest, mask);
        float[] hp = plain.encoderHiddenStates(embeds, rows, longest, mask);
        for (int r = 0; r < rows; r++) {
            float diff = HfFixture.maxAbsDiff(Arrays.copyOfRange(hf, r * longest * d, (r * longest + lengths[r]) * d),
                    Arrays.copyOfRange(hp, r * longest * d, (r * longest + lengths[r]) * d));
            System.out.printf("t5 row %d fused vs plain encoder output max abs diff %.3g%n", r, diff);
            assertThat(diff).as("encoder row %d", r).isLessThanOrEqualTo(TOLERANCE);
        }

        long start = config.decoderStartTokenId();
        long[] prompt = new long[rows * 4]; // four decoder tokens at once, then two single steps
        for (int r = 0; r < rows; r++) {
            prompt[r * 4] = start;
            for (int t = 1; t < 4; t++) {
                prompt[r * 4 + t] = 5 + (13L * r + 17L * t) % (config.vocabSize() - 5);
            }
        }
        try (OnnxTensor m = OnnxTensor.createTensor(plain.environment(), LongBuffer.wrap(mask),
                new long[] {rows, longest});
             KvCache crossF = fused.encode(embeds, rows, longest, mask);
             KvCache crossP = plain.encode(embeds, rows, longest, mask)) {
            KvCache pastF = fused.emptyCache(rows);
            KvCache pastP = plain.emptyCache(rows);
            long[] feed = prompt;
            int seq = 4;
            for (int step = 0; step < 3; step++) {
                LanguageModelRunner.DecoderOutput of = fused.decode(feed, seq, m, crossF, pastF);
                LanguageModelRunner.DecoderOutput op = plain.decode(feed, seq, m, crossP, pastP);
                pastF.close();
                pastP.close();
                pastF = of.present();
                pastP = op.present();
                float[] logits = op.logits();
                float diff = HfFixture.maxAbsDiff(of.logits(), logits);
                double largest = Arrays.stream(toDoubles(logits)).map(Math::abs).max().orElseThrow();
                System.out.printf("t5 decoder run %d (%d tokens) fused vs plain logits max abs diff %.3g "
                        + "(largest |logit| %.3g)%n", step, seq, diff, largest);
                assertThat(diff).as("decoder run %d", step).isLessThanOrEqualTo(LOGITS_TOLERANCE);
                assertThat(pastF.length()).isEqualTo(pastP.length());
                feed = new long[rows];
                for (int r = 0; r < rows; r++) {
                    feed[r] = 9 + (step * 5L + r) % 50;
                }
                seq = 1;
            }
            pastF.close();
            pastP.close();
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    @Test
    void onnxRuntimeRunsTheFusedKernels() throws Exception {
        int layers = config.numLayers();
        int decoderLayers = config.numDecoderLayers();
        Map<String, Integer> encoder = EncoderGraphTiming.optimizedOpCounts(dir.resolve("fused/encoder.onnx"));
        assertThat(encoder).containsEntry("com.microsoft.MultiHeadAttention", layers)
                .containsEntry("SimplifiedLayerNormalization", 1)
                .containsEntry("com.microsoft.SkipSimplifiedLayerNormalization", 2 * layers)
                .containsEntry("com.microsoft.FastGelu", layers) // Flan-T5's gelu_new
                .doesNotContainKeys("Softmax", "ReduceMean", "Tanh");
        Map<String, Integer> decoder = EncoderGraphTiming.optimizedOpCounts(dir.resolve("fused/decoder.onnx"));
        assertThat(decoder).containsEntry("com.microsoft.MultiHeadAttention", 2 * decoderLayers)
                .containsEntry("SimplifiedLayerNormalization", 1)
                .containsEntry("com.microsoft.SkipSimplifiedLayerNormalization", 3 * decoderLayers)
                .containsEntry("com.microsoft.FastGelu", decoderLayers)
                .doesNotContainKeys("Softmax", "ReduceMean", "Concat", "Tanh");
        Map<String, Integer> old = EncoderGraphTiming.optimizedOpCounts(dir.resolve("plain/encoder.onnx"));
        System.out.println("t5 encoder as ONNX Runtime runs it: fused " + encoder + ", plain " + old);
        System.out.println("t5 decoder as ONNX Runtime runs it: fused " + decoder + ", plain "
                + EncoderGraphTiming.optimizedOpCounts(dir.resolve("plain/decoder.onnx")));
        assertThat(old).as("ONNX Runtime fuses none of this from T5's plain ops")
                .doesNotContainKeys("com.microsoft.MultiHeadAttention",
                        "com.microsoft.SkipSimplifiedLayerNormalization",
                        "SimplifiedLayerNormalization");
    }
}
