package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.testing.HfFixture;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The encoder moves pixels, features and outputs through reused direct buffers and pinned outputs; the graphs'
 * arithmetic must not notice: every output equals, bit for bit, the same graphs run through the Java API's plain
 * path (heap arrays in, ONNX Runtime's own output tensors out), for one image, a batch over several vision runs
 * (more than {@link ImageEncoder#VISION_RUN_IMAGES} images) and, after it, a smaller batch in the grown buffers and
 * the heap arrays the earlier calls gave back.
 */
class ImageEncoderDirectBuffersTest {
    @TempDir
    static Path modelDir;
    static ImageEncoder encoder;
    static OrtSession vision;
    static OrtSession qformer;
    static List<ImageTensor> images;
    static long[][] ids;

    @BeforeAll
    static void setUp() throws Exception {
        ImageEncoder.writeModels(HfFixture.VICUNA.checkpoint(), modelDir);
        InstructBlipConfig config = InstructBlipConfig.load(HfFixture.VICUNA.checkpoint());
        RuntimeOptions options = RuntimeOptions.cpu(1).withVisionCacheBytes(0);
        encoder = ImageEncoder.open(modelDir.resolve(ImageEncoder.VISION_FILE),
                modelDir.resolve(ImageEncoder.QFORMER_FILE), config, options);
        vision = OrtSessions.open(modelDir.resolve(ImageEncoder.VISION_FILE), options);
        qformer = OrtSessions.open(modelDir.resolve(ImageEncoder.QFORMER_FILE), options);
        images = HfFixture.VICUNA.images("batch.pixel_values", 32);
        JsonNode rp = HfFixture.VICUNA.reference().path("batch").path("greedy_qformer_right_padded");
        ids = HfFixture.idRows(rp.path("qformer_input_ids").path("values"),
                rp.path("qformer_attention_mask").path("values"));
    }

    @AfterAll
    static void close() throws Exception {
        encoder.close();
        vision.close();
        qformer.close();
    }

    @Test
    void outputsEqualThePlainJavaApiPathBitForBit() throws Exception {
        int[][] batches = {{1}, {0, 1, 2, 2, 1, 0}, {2, 0}};
        assertThat(batches[1].length).isGreaterThan(ImageEncoder.VISION_RUN_IMAGES);
        for (int[] rows : batches) {
            List<ImageTensor> batchImages = new ArrayList<>();
            long[][] batchIds = new long[rows.length][];
            for (int i = 0; i < rows.length; i++) {
                batchImages.add(images.get(rows[i]));
                batchIds[i] = ids[rows[i]];
            }
            ImageEncoder.Encoded e = encoder.encodeWithIntermediates(batchImages, batchIds);
            float[][][] languageInputs = encoder.encode(batchImages, batchIds);
            for (int i = 0; i < rows.length; i++) {
                float[][] plain = plainPath(images.get(rows[i]), ids[rows[i]]);
                String row = "row " + i + " of " + Arrays.toString(rows);
                assertSameBits(e.imageEmbeds()[i], plain[0], "image embeds, " + row);
                assertSameBits(e.queryOutput()[i], plain[1], "query output, " + row);
                assertSameBits(e.languageInputs()[i], plain[2], "language inputs, " + row);
                float[] flat = new float[plain[2].length];
                int width = languageInputs[i][0].length;
                for (int t = 0; t < languageInputs[i].length; t++) {
                    System.arraycopy(languageInputs[i][t], 0, flat, t * width, width);
                }
                assertSameBits(flat, plain[2], "encode's language inputs, " + row);
            }
        }
        // the later calls ran on the arrays the earlier ones gave back, with the same results as above
        assertThat(encoder.rowArraysTakenAndReused()[1]).isPositive();
    }

    /** One image alone through both graphs with heap tensors: image embeds, query output, language inputs. */
    private static float[][] plainPath(ImageTensor image, long[] instruction) throws Exception {
        OrtEnvironment env = OrtSessions.environment();
        float[] embeds;
        try (OnnxTensor px = OnnxTensor.createTensor(env, FloatBuffer.wrap(image.chw()),
                new long[] {1, image.channels(), image.height(), image.width()});
             OrtSession.Result r = vision.run(Map.of(VisionGraph.PIXEL_VALUES, px))) {
            embeds = floats((OnnxTensor) r.get(VisionGraph.IMAGE_EMBEDS).orElseThrow());
        }
        long[] mask = new long[instruction.length];
        Arrays.fill(mask, 1L);
        int width = encoder.config().vision().hiddenSize();
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                     new long[] {1, embeds.length / width, width});
             OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(instruction), new long[] {1, mask.length});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, mask.length});
             OrtSession.Result r = qformer.run(Map.of(QFormerGraph.IMAGE_EMBEDS, e, QFormerGraph.INPUT_IDS, i,
                     QFormerGraph.ATTENTION_MASK, m))) {
            return new float[][] {embeds, floats((OnnxTensor) r.get(QFormerGraph.QUERY_OUTPUT).orElseThrow()),
                    floats((OnnxTensor) r.get(QFormerGraph.LANGUAGE_INPUTS).orElseThrow())};
        }
    }

    private static float[] floats(OnnxTensor t) {
        FloatBuffer b = t.getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    private static void assertSameBits(float[] actual, float[] expected, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        int differing = 0;
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                differing++;
            }
        }
        assertThat(differing).as("%s: elements whose bits differ from the plain path, of %d", what, actual.length)
                .isZero();
    }
}
