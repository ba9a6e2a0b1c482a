package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A row's outputs must not depend on its batch: the fixture's three requests (instructions of 6, 18 and 13 tokens)
 * in every batch size and order, right-padded by the encoder, equal each request encoded alone.
 */
class ImageEncoderBatchInvarianceTest {
    private static final float TOLERANCE = 1e-5f;

    @TempDir
    static Path modelDir;
    static ImageEncoder encoder;
    static List<ImageTensor> images;
    static long[][] ids;
    static ImageEncoder.Encoded[] alone;

    @BeforeAll
    static void setUp() throws Exception {
        ImageEncoder.writeModels(HfFixture.VICUNA.checkpoint(), modelDir);
        encoder = ImageEncoder.open(modelDir, InstructBlipConfig.load(HfFixture.VICUNA.checkpoint()), 1);
        images = HfFixture.VICUNA.images("batch.pixel_values", 32);
        JsonNode rp = HfFixture.VICUNA.reference().path("batch").path("greedy_qformer_right_padded");
        ids = HfFixture.idRows(rp.path("qformer_input_ids").path("values"),
                rp.path("qformer_attention_mask").path("values"));
        assertThat(ids[0]).hasSize(6);
        assertThat(ids[1]).hasSize(18);
        assertThat(ids[2]).hasSize(13);
        alone = new ImageEncoder.Encoded[3];
        for (int r = 0; r < 3; r++) {
            alone[r] = encoder.encodeWithIntermediates(List.of(images.get(r)), new long[][] {ids[r]});
        }
    }

    @AfterAll
    static void close() throws Exception {
        encoder.close();
    }

    /**
     * The image side run wholly on the calling thread (continuous batching's background builds) gives every row what
     * the pool's runs give it; an encoder without the feature cache, so both really run.
     */
    @Test
    void encodingOnTheCallerEqualsEncodingOverThePool() throws Exception {
        Path vision = modelDir.resolve(ImageEncoder.VISION_FILE);
        Path qformer = modelDir.resolve(ImageEncoder.QFORMER_FILE);
        InstructBlipConfig config = InstructBlipConfig.load(HfFixture.VICUNA.checkpoint());
        try (ImageEncoder uncached = ImageEncoder.open(vision, qformer, config,
                new dev.loupe.model.api.RuntimeOptions(dev.loupe.model.api.RuntimeOptions.Device.CPU, 2, null, 0, 0))) {
            float[][][] pooled = uncached.encode(images.subList(0, 3), ids);
            float[][][] onCaller = uncached.encodeOnCaller(images.subList(0, 3), ids);
            assertThat(uncached.visionStats().imagesEncoded()).as("both ran the vision graph").isEqualTo(6);
            for (int r = 0; r < 3; r++) {
                for (int t = 0; t < pooled[r].length; t++) {
                    assertThat(HfFixture.maxAbsDiff(onCaller[r][t], pooled[r][t])).as("row %d, query %d", r, t)
                            .isLessThanOrEqualTo(TOLERANCE);
                }
            }
        }
    }

    @Test
    void everyBatchOfTwoAndThreeInAnyOrderEqualsRowsAlone() throws Exception {
        int[][] orders = {
            {0, 1}, {1, 0}, {0, 2}, {2, 0}, {1, 2}, {2, 1},
            {0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0},
            {0, 0, 1}, // a duplicate row too
        };
        float worst = 0;
        for (int[] order : orders) {
            List<ImageTensor> batchImages = new ArrayList<>();
            long[][] batchIds = new long[order.length][];
            for (int i = 0; i < order.length; i++) {
                batchImages.add(images.get(order[i]));
                batchIds[i] = ids[order[i]];
            }
            ImageEncoder.Encoded e = encoder.encodeWithIntermediates(batchImages, batchIds);
            for (int i = 0; i < order.length; i++) {
                ImageEncoder.Encoded a = alone[order[i]];
                float dq = HfFixture.maxAbsDiff(e.queryOutput()[i], a.queryOutput()[0]);
                float dl = HfFixture.maxAbsDiff(e.languageInputs()[i], a.languageInputs()[0]);
                float dv = HfFixture.maxAbsDiff(e.imageEmbeds()[i], a.imageEmbeds()[0]);
                assertThat(dq).as("query output of request %d in %s", order[i], java.util.Arrays.toString(order))
                        .isLessThanOrEqualTo(TOLERANCE);
                assertThat(dl).as("language inputs of request %d", order[i]).isLessThanOrEqualTo(TOLERANCE);
                assertThat(dv).as("image embeds of request %d", order[i]).isLessThanOrEqualTo(TOLERANCE);
                worst = Math.max(worst, Math.max(dq, Math.max(dl, dv)));
            }
        }
        System.out.printf("batch invariance: worst max abs diff vs alone %.3g%n", worst);
    }

    /**
     * The Q-Former's runs of a batch go side by side on the CPU ({@link dev.loupe.model.onnx.ConcurrentRuns}), also
     * for float32 packages, whose vision runs take the whole pool: every row's outputs are bit for bit those of the
     * same runs one after another.
     */
    @Test
    void qformerRunsSideBySideGiveEveryRowExactlyTheRunsOneAfterAnother() throws Exception {
        int n = 3 * ImageEncoder.QFORMER_RUN_IMAGES - 1;
        List<ImageTensor> batchImages = new ArrayList<>();
        long[][] batchIds = new long[n][];
        for (int i = 0; i < n; i++) {
            batchImages.add(images.get(i % 3));
            batchIds[i] = ids[(i + i / 3) % 3];
        }
        ImageEncoder.Encoded together;
        ImageEncoder.Encoded serial;
        try (ImageEncoder concurrent = openWithRuns("3")) {
            together = concurrent.encodeWithIntermediates(batchImages, batchIds);
        }
        try (ImageEncoder oneByOne = openWithRuns("1")) {
            serial = oneByOne.encodeWithIntermediates(batchImages, batchIds);
        }
        for (int i = 0; i < n; i++) {
            assertThat(together.imageEmbeds()[i]).as("image embeds of row %d", i).containsExactly(serial.imageEmbeds()[i]);
            assertThat(together.queryOutput()[i]).as("query output of row %d", i).containsExactly(serial.queryOutput()[i]);
            assertThat(together.languageInputs()[i]).as("language inputs of row %d", i)
                    .containsExactly(serial.languageInputs()[i]);
        }
    }

    /** The fixture's encoder with at most {@code runs} runs at once ({@code loupe.ort.concurrent-runs}). */
    private static ImageEncoder openWithRuns(String runs) throws Exception {
        String property = dev.loupe.model.onnx.ConcurrentRuns.PROPERTY;
        String before = System.getProperty(property);
        System.setProperty(property, runs);
        try {
            return ImageEncoder.open(modelDir, InstructBlipConfig.load(HfFixture.VICUNA.checkpoint()), 1);
        } finally {
            if (before == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, before);
            }
        }
    }

    @Test
    void aBatchLargerThanOneVisionRunKeepsItsRowsInOrder() throws Exception {
        // more images than one vision run or one Q-Former run takes: the runs' rows are put back in input order,
        // each equal to alone
        int n = 2 * Math.max(ImageEncoder.VISION_RUN_IMAGES, ImageEncoder.QFORMER_RUN_IMAGES) + 1;
        List<ImageTensor> batchImages = new ArrayList<>();
        long[][] batchIds = new long[n][];
        for (int i = 0; i < n; i++) {
            batchImages.add(images.get((i * 2) % 3));
            batchIds[i] = ids[(i * 2) % 3];
        }
        ImageEncoder.Encoded e = encoder.encodeWithIntermediates(batchImages, batchIds);
        assertThat(e.imageEmbeds().length).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            ImageEncoder.Encoded a = alone[(i * 2) % 3];
            assertThat(HfFixture.maxAbsDiff(e.imageEmbeds()[i], a.imageEmbeds()[0])).as("image embeds of row %d", i)
                    .isLessThanOrEqualTo(TOLERANCE);
            assertThat(HfFixture.maxAbsDiff(e.languageInputs()[i], a.languageInputs()[0]))
                    .as("language inputs of row %d", i).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void aloneResultsAreFiniteAndMatchTheTransformersUnpaddedRow() throws Exception {
        for (ImageEncoder.Encoded a : alone) {
            for (float f : a.languageInputs()[0]) {
                assertThat(Float.isFinite(f)).isTrue();
            }
        }
        // transformers' batch row 1 carries no padding, so its left-padding bug does not touch it
        float d = HfFixture.maxAbsDiff(alone[1].languageInputs()[0],
                HfFixture.slice(HfFixture.VICUNA.tensor("batch.language_projection_output"), 1, 3));
        assertThat(d).isLessThan(1e-4f);
    }

    @Test
    void extraPaddingLeavesOutputsUnchanged() throws Exception {
        // a long neighbour forces 40 padded positions onto request 0 (max_position_embeddings is 64)
        long[] longRow = new long[46];
        java.util.Arrays.fill(longRow, 101);
        ImageEncoder.Encoded e = encoder.encodeWithIntermediates(List.of(images.get(0), images.get(1)),
                new long[][] {ids[0], longRow});
        assertThat(HfFixture.maxAbsDiff(e.languageInputs()[0], alone[0].languageInputs()[0]))
                .isLessThanOrEqualTo(TOLERANCE);
    }
}
