package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.DeviceBoundVariant;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link InstructBlipAnnotatorTest} with the device-bound decoder runner (IoBinding; CPU memory here), whose image side
 * ({@link BoundImageSide}) keeps the vision output in the device's memory for the Q-Former.
 */
class DeviceBoundInstructBlipAnnotatorTest extends InstructBlipAnnotatorTest implements DeviceBoundVariant {
    private static final RuntimeOptions DEVICE_BOUND = RuntimeOptions.cpu(1)
            .withRunner(RuntimeOptions.Runner.DEVICE_BOUND);

    /** The runner setting reaches the package's language model: the tests above ran through the device-bound one. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, DEVICE_BOUND)) {
            assertThat(opened.language()).isInstanceOf(DeviceBoundDecoder.class);
            assertThat(opened.queryEncoder()).isInstanceOf(BoundImageSide.class);
        }
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir,
                DEVICE_BOUND.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.language()).isNotInstanceOf(DeviceBoundDecoder.class); // auto on CPU: the Java API
            assertThat(opened.queryEncoder()).isInstanceOf(ImageEncoder.class);
        }
    }

    /**
     * What of the image side crosses the host boundary per call: the pixels of each distinct image, each row's
     * Q-Former instruction (ids and mask) and, where rows share an image, the row indices of the on-device gather go
     * in; only each row's projected queries come back. The vision output never crosses.
     */
    @Test
    void theImageSideSendsPixelsAndInstructionsAndGetsOnlyTheQueriesBack() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        JsonNode batch = reference.path("batch");
        String prompt = batch.path("prompts").get(0).asText();
        ImageTensor image = preprocessor.preprocess(Files.readAllBytes(
                HfFixture.VICUNA.dir().resolve("../images").resolve(batch.path("images").get(0).asText())));
        AnnotationInput row = new AnnotationInput("a", image, prompt, Task.VQA, List.of(), GenerationConfig.greedy(2));
        long pixels = 3L * config.vision().imageSize() * config.vision().imageSize() * Float.BYTES;
        long queries = (long) config.numQueryTokens() * config.languageHiddenSize() * Float.BYTES;
        long visionOutput = (long) config.vision().numPositions() * config.vision().hiddenSize() * Float.BYTES;
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, DEVICE_BOUND)) {
            long instruction = 2L * opened.prompts().encode(prompt, 2).qformerIds().length * Long.BYTES;

            HostTrafficStats before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row)).get(0).isSuccess()).isTrue();
            HostTrafficStats one = opened.hostTraffic().since(before);
            assertThat(one.imageToDevice()).isEqualTo(pixels + instruction);
            assertThat(one.imageToHost()).isEqualTo(queries).isLessThan(visionOutput);

            before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row, row)).get(1).isSuccess()).isTrue();
            HostTrafficStats two = opened.hostTraffic().since(before);
            assertThat(two.imageToDevice()).isEqualTo(pixels + 2 * instruction + 2 * Long.BYTES); // one image, gathered
            assertThat(two.imageToHost()).isEqualTo(2 * queries);
            assertThat(opened.visionStats().imagesEncoded()).isEqualTo(2);
            assertThat(opened.visionStats().duplicateRows()).isEqualTo(1);
        }
    }

    /** The bound image side gives each row the Java-API image side's queries, bit for bit, repeated images too. */
    @Test
    void theBoundImageSideEqualsTheJavaApiOneBitForBit() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        Manifest manifest = Manifest.read(packageDir);
        JsonNode batch = reference.path("batch");
        ImageTensor[] images = new ImageTensor[3];
        long[][] ids = new long[4][];
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, DEVICE_BOUND)) {
            for (int i = 0; i < 3; i++) {
                images[i] = preprocessor.preprocess(Files.readAllBytes(
                        HfFixture.VICUNA.dir().resolve("../images").resolve(batch.path("images").get(i).asText())));
                ids[i] = java.util.Arrays.stream(opened.prompts().encode(batch.path("prompts").get(i).asText(), 1)
                        .qformerIds()).asLongStream().toArray();
            }
        }
        ids[3] = ids[0];
        List<ImageTensor> rows = List.of(images[2], images[0], images[2], images[1]);
        long[][] rowIds = {ids[2], ids[0], ids[3], ids[1]};
        RuntimeOptions options = RuntimeOptions.cpu(1);
        try (ImageEncoder java = ImageEncoder.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                     manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, options);
             BoundImageSide bound = BoundImageSide.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                     manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, options)) {
            assertThat(bound.encode(rows, rowIds)).isDeepEqualTo(java.encode(rows, rowIds));
            assertThat(bound.encode(rows.subList(3, 4), new long[][] {rowIds[3]}))
                    .isDeepEqualTo(java.encode(rows.subList(3, 4), new long[][] {rowIds[3]}));
        }
    }
}
