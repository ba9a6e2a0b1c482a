package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.EncoderGraphTiming;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused encoder graphs (what {@code loupe convert} writes) against the same math in plain ONNX ops (what
 * packages converted before the fused graphs hold for the Q-Former): same outputs for a right-padded batch, and
 * ONNX Runtime really runs the fused kernels rather than falling back to the op-by-op pattern.
 */
class FusedEncoderGraphsTest {
    private static final float TOLERANCE = 1e-5f;

    @TempDir
    static Path dir;
    static InstructBlipConfig config;
    static Path fusedDir;
    static Path plainDir;
    static ImageEncoder fused;
    static ImageEncoder plain;

    @BeforeAll
    static void convert() throws Exception {
        Path checkpoint = HfFixture.VICUNA.checkpoint();
        config = InstructBlipConfig.load(checkpoint);
        fusedDir = Files.createDirectories(dir.resolve("fused"));
        plainDir = Files.createDirectories(dir.resolve("plain"));
        ImageEncoder.writeModels(checkpoint, fusedDir);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpoint)) {
            OnnxModelWriter.write(VisionGraph.build(config, ckpt, false), plainDir.resolve(ImageEncoder.VISION_FILE));
            OnnxModelWriter.write(QFormerGraph.build(config, ckpt, false), plainDir.resolve(ImageEncoder.QFORMER_FILE));
        }
        fused = ImageEncoder.open(fusedDir, config, 1);
        plain = ImageEncoder.open(plainDir.resolve(ImageEncoder.VISION_FILE),
                plainDir.resolve(ImageEncoder.QFORMER_FILE), config, RuntimeOptions.cpu(1));
    }

    @AfterAll
    static void close() throws Exception {
        fused.close();
        plain.close();
    }

    @Test
    void fusedGraphsEqualPlainOpsOnARightPaddedBatch() throws Exception {
        List<ImageTensor> images = HfFixture.VICUNA.images("batch.pixel_values", 32);
        JsonNode rp = HfFixture.VICUNA.reference().path("batch").path("greedy_qformer_right_padded");
        long[][] ids = HfFixture.idRows(rp.path("qformer_input_ids").path("values"),
                rp.path("qformer_attention_mask").path("values"));
        assertThat(ids[0].length).isLessThan(ids[1].length); // rows 0 and 2 are padded to row 1's length
        ImageEncoder.Encoded f = fused.encodeWithIntermediates(images, ids);
        ImageEncoder.Encoded p = plain.encodeWithIntermediates(images, ids);
        for (int r = 0; r < images.size(); r++) {
            float dv = HfFixture.maxAbsDiff(f.imageEmbeds()[r], p.imageEmbeds()[r]);
            float dq = HfFixture.maxAbsDiff(f.queryOutput()[r], p.queryOutput()[r]);
            float dl = HfFixture.maxAbsDiff(f.languageInputs()[r], p.languageInputs()[r]);
            System.out.printf("row %d fused vs plain max abs diff: vision %.3g, query %.3g, projection %.3g%n",
                    r, dv, dq, dl);
            assertThat(dv).as("image embeds of row %d", r).isLessThanOrEqualTo(TOLERANCE);
            assertThat(dq).as("query output of row %d", r).isLessThanOrEqualTo(TOLERANCE);
            assertThat(dl).as("language inputs of row %d", r).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void onnxRuntimeRunsTheFusedKernels() throws Exception {
        int vl = config.vision().numLayers();
        Map<String, Integer> vision = EncoderGraphTiming.optimizedOpCounts(fusedDir.resolve(ImageEncoder.VISION_FILE));
        assertThat(vision).containsEntry("com.microsoft.MultiHeadAttention", vl)
                .containsEntry("com.microsoft.SkipLayerNormalization", 2 * vl)
                .containsEntry("LayerNormalization", 1) // the first layer's layer_norm1
                .containsEntry("com.microsoft.BiasGelu", vl) // ONNX Runtime's own fusion
                .doesNotContainKeys("Split", "Softmax");

        InstructBlipConfig.QFormerConfig qc = config.qformer();
        int cross = 0;
        for (int i = 0; i < qc.numLayers(); i++) {
            cross += qc.hasCrossAttention(i) ? 1 : 0;
        }
        Map<String, Integer> qformer =
                EncoderGraphTiming.optimizedOpCounts(fusedDir.resolve(ImageEncoder.QFORMER_FILE));
        assertThat(qformer).containsEntry("com.microsoft.MultiHeadAttention", qc.numLayers() + cross)
                .containsEntry("LayerNormalization", 1) // the embeddings' LayerNorm
                .doesNotContainKeys("Softmax", "Transpose", "com.microsoft.FusedMatMul");
        // every attention output, query feed-forward and (on all but the last layer) text feed-forward
        assertThat(qformer.get("com.microsoft.SkipLayerNormalization"))
                .isEqualTo(2 * qc.numLayers() - 1 + cross + qc.numLayers());

        Map<String, Integer> old = EncoderGraphTiming.optimizedOpCounts(plainDir.resolve(ImageEncoder.QFORMER_FILE));
        assertThat(old).as("ONNX Runtime fuses none of this from the plain ops")
                .doesNotContainKeys("com.microsoft.MultiHeadAttention", "com.microsoft.SkipLayerNormalization");
    }
}
