package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.EncoderGraphTiming;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused OPT decoder ({@link FusedOptGraphs}) against the plain one ({@link OptGraphs}) on the blip2-opt fixture's
 * weights: a batch of rows of different lengths (right-padded in the shared cache, left-padded in the plain one)
 * gives each row the same logits and tokens, for pre-norm blocks (the fixture's) and post-norm ones (the same
 * weights read as OPT-350m's layout); and ONNX Runtime runs the fused kernels it was written with.
 */
class FusedOptDecoderTest {
    private static final float TOLERANCE = 1e-5f;

    @TempDir
    static Path dir;
    static OptConfig config;
    static LanguageModelRunner fused;
    static LanguageModelRunner plain;
    /** The same weights read as a post-norm model (OPT-350m's block layout), whose graphs differ in every block. */
    static LanguageModelRunner fusedPostNorm;
    static LanguageModelRunner plainPostNorm;

    @BeforeAll
    static void build() throws Exception {
        Path checkpoint = HfFixture.BLIP2_OPT.checkpoint();
        config = OptConfig.fromJson(new ObjectMapper().readTree(checkpoint.resolve("config.json").toFile())
                .path("text_config"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            OnnxModelWriter.write(OptGraphs.tokenEmbedding(ckpt, "language_model.", config), dir.resolve("embed.onnx"));
            OnnxModelWriter.write(OptGraphs.decoder(ckpt, "language_model.", config,
                    LlamaGraphs.LogitsMode.SELECTABLE), dir.resolve("plain.onnx"));
            OnnxModelWriter.write(FusedOptGraphs.decoder(ckpt, "language_model.", config), dir.resolve("fused.onnx"));
            OptConfig post = postNorm(config);
            OnnxModelWriter.write(OptGraphs.decoder(ckpt, "language_model.", post,
                    LlamaGraphs.LogitsMode.SELECTABLE), dir.resolve("plain-post.onnx"));
            OnnxModelWriter.write(FusedOptGraphs.decoder(ckpt, "language_model.", post),
                    dir.resolve("fused-post.onnx"));
        }
        fused = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("fused.onnx"), config, 1);
        plain = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("plain.onnx"), config, 1);
        fusedPostNorm = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("fused-post.onnx"),
                postNorm(config), 1);
        plainPostNorm = LanguageModelRunner.open(dir.resolve("embed.onnx"), dir.resolve("plain-post.onnx"),
                postNorm(config), 1);
    }

    private static OptConfig postNorm(OptConfig c) {
        return new OptConfig(c.vocabSize(), c.hiddenSize(), c.ffnDim(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.maxPositionEmbeddings(), false, c.removeFinalLayerNorm(), c.enableBias(), c.tieWordEmbeddings());
    }

    @AfterAll
    static void close() throws Exception {
        fused.close();
        plain.close();
        fusedPostNorm.close();
        plainPostNorm.close();
    }

    @ParameterizedTest(name = "pre-norm blocks: {0}")
    @ValueSource(booleans = {true, false})
    void fusedRowsOfAPaddedBatchEqualThePlainGraphs(boolean preNorm) throws Exception {
        LanguageModelRunner fused = preNorm ? FusedOptDecoderTest.fused : fusedPostNorm;
        LanguageModelRunner plain = preNorm ? FusedOptDecoderTest.plain : plainPostNorm;
        assertThat(fused.sharedBufferCache()).isTrue();
        assertThat(plain.sharedBufferCache()).isFalse();
        List<float[][]> prefixes = new ArrayList<>();
        int[] lengths = {5, 11, 2};
        for (int r = 0; r < lengths.length; r++) {
            long[] ids = new long[lengths[r]];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = 3 + (37L * r + 11L * t) % (config.vocabSize() - 3);
            }
            float[] flat = plain.embed(ids, 1, ids.length);
            float[][] rows = new float[ids.length][];
            for (int t = 0; t < ids.length; t++) {
                rows[t] = java.util.Arrays.copyOfRange(flat, t * config.hiddenSize(), (t + 1) * config.hiddenSize());
            }
            prefixes.add(rows);
        }
        GenerationConfig eight = GenerationConfig.greedy(8);
        List<GeneratedSequence> f = new GreedyGenerator(fused, 1).generate(prefixes, eight, new int[0], true);
        List<GeneratedSequence> p = new GreedyGenerator(plain, 1).generate(prefixes, eight, new int[0], true);
        for (int r = 0; r < lengths.length; r++) {
            float d = HfFixture.maxAbsDiff(f.get(r).firstStepLogits(), p.get(r).firstStepLogits());
            System.out.printf("opt (pre-norm %s) row %d fused vs plain first-step logits max abs diff %.3g%n",
                    preNorm, r, d);
            assertThat(d).as("row %d", r).isLessThanOrEqualTo(TOLERANCE);
            assertThat(f.get(r).tokenIds()).as("row %d", r).containsExactly(p.get(r).tokenIds());
            for (int t = 0; t < f.get(r).stepLogProbs().length; t++) {
                assertThat(Math.abs(f.get(r).stepLogProbs()[t] - p.get(r).stepLogProbs()[t])).as("row %d step %d", r, t)
                        .isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

    @Test
    void onnxRuntimeRunsTheFusedKernels() throws Exception {
        int layers = config.numHiddenLayers();
        assertThat(config.doLayerNormBefore()).isTrue();
        Map<String, Integer> ops = EncoderGraphTiming.optimizedOpCounts(dir.resolve("fused.onnx"));
        assertThat(ops).containsEntry("com.microsoft.GroupQueryAttention", layers)
                // every residual add but the last, with the next LayerNorm
                .containsEntry("com.microsoft.SkipLayerNormalization", 2 * layers - 1)
                .containsEntry("LayerNormalization", 2) // the first layer's attention norm and the final norm
                .doesNotContainKeys("Softmax", "Concat", "Where", "com.microsoft.MultiHeadAttention");
        Map<String, Integer> old = EncoderGraphTiming.optimizedOpCounts(dir.resolve("plain.onnx"));
        System.out.println("opt decoder as ONNX Runtime runs it: fused " + ops + ", plain " + old);
        assertThat(old).as("ONNX Runtime fuses none of this from the plain ops")
                .doesNotContainKeys("com.microsoft.GroupQueryAttention", "com.microsoft.SkipLayerNormalization");
    }
}
