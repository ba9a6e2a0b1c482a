package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.testing.HfFixture;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The converted graphs against the outputs transformers computed from the same fixture checkpoint. */
class ImageEncoderParityTest {
    @TempDir
    static Path modelDir;
    static ImageEncoder encoder;
    static JsonNode reference;

    @BeforeAll
    static void convert() throws Exception {
        ImageEncoder.writeModels(HfFixture.VICUNA.checkpoint(), modelDir);
        encoder = ImageEncoder.open(modelDir, InstructBlipConfig.load(HfFixture.VICUNA.checkpoint()), 1);
        reference = HfFixture.VICUNA.reference();
    }

    @AfterAll
    static void close() throws Exception {
        encoder.close();
    }

    @Test
    void singleMatchesTransformers() throws Exception {
        JsonNode in = reference.path("single").path("inputs");
        List<ImageTensor> images = HfFixture.VICUNA.images("single.pixel_values", 32);
        long[][] ids = HfFixture.idRows(in.path("qformer_input_ids").path("values"),
                in.path("qformer_attention_mask").path("values"));
        ImageEncoder.Encoded e = encoder.encodeWithIntermediates(images, ids);

        float vision = HfFixture.maxAbsDiff(e.imageEmbeds()[0], HfFixture.VICUNA.tensor("single.vision_last_hidden_state"));
        float query = HfFixture.maxAbsDiff(e.queryOutput()[0], HfFixture.VICUNA.tensor("single.qformer_query_output"));
        float proj = HfFixture.maxAbsDiff(e.languageInputs()[0],
                HfFixture.VICUNA.tensor("single.language_projection_output"));
        System.out.printf("single max abs diff: vision %.3g, query %.3g, projection %.3g%n", vision, query, proj);
        assertThat(vision).isLessThan(1e-4f);
        assertThat(query).isLessThan(1e-4f);
        assertThat(proj).isLessThan(1e-4f);

        float[][][] rows = encoder.encode(images, ids);
        assertThat(rows).hasDimensions(1, 8);
        assertThat(rows[0][7]).hasSize(64);
        assertThat(rows[0][7][63]).isEqualTo(e.languageInputs()[0][7 * 64 + 63]);
    }

    @Test
    void plainOpsVisionGraphMatchesTransformersToo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vision-plain.onnx");
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(HfFixture.VICUNA.checkpoint())) {
            OnnxModelWriter.write(VisionGraph.build(encoder.config(), ckpt, false), file);
        }
        float[] pixels = HfFixture.VICUNA.tensor("single.pixel_values");
        OrtEnvironment env = OrtSessions.environment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(file.toString(), o);
                 OnnxTensor px = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), new long[] {1, 3, 32, 32});
                 OrtSession.Result r = s.run(Map.of(VisionGraph.PIXEL_VALUES, px))) {
                FloatBuffer fb = ((OnnxTensor) r.get(VisionGraph.IMAGE_EMBEDS).orElseThrow()).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                float d = HfFixture.maxAbsDiff(out, HfFixture.VICUNA.tensor("single.vision_last_hidden_state"));
                System.out.printf("plain-ops vision max abs diff %.3g%n", d);
                assertThat(d).isLessThan(1e-4f);
            }
        }
    }

    @Test
    void batchVisionMatchesTransformers() throws Exception {
        List<ImageTensor> images = HfFixture.VICUNA.images("batch.pixel_values", 32);
        JsonNode rp = reference.path("batch").path("greedy_qformer_right_padded");
        long[][] ids = HfFixture.idRows(rp.path("qformer_input_ids").path("values"),
                rp.path("qformer_attention_mask").path("values"));
        ImageEncoder.Encoded e = encoder.encodeWithIntermediates(images, ids);
        float[] expected = HfFixture.VICUNA.tensor("batch.vision_last_hidden_state");
        for (int r = 0; r < 3; r++) {
            float d = HfFixture.maxAbsDiff(e.imageEmbeds()[r], HfFixture.slice(expected, r, 3));
            System.out.printf("batch row %d vision max abs diff %.3g%n", r, d);
            assertThat(d).isLessThan(1e-4f);
        }
        // the unpadded row of the transformers batch (row 1, longest instruction) is comparable for the Q-Former too
        float q = HfFixture.maxAbsDiff(e.queryOutput()[1],
                HfFixture.slice(HfFixture.VICUNA.tensor("batch.qformer_query_output"), 1, 3));
        System.out.printf("batch row 1 query output max abs diff %.3g%n", q);
        assertThat(q).isLessThan(1e-4f);
    }
}
