package dev.loupe.model.instructblip;

import static dev.loupe.model.testing.SameOutcomes.assertSameOutcomes;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.DeviceBoundVariant;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
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
     * in; nothing comes back. The projected queries stay on the device for the decoder's prefill, whose input is
     * assembled there: only the prompt's token embeddings and one gather index per row cross with it.
     */
    @Test
    void theImageSideSendsPixelsAndInstructionsAndNothingComesBack() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        JsonNode batch = reference.path("batch");
        String prompt = batch.path("prompts").get(0).asText();
        ImageTensor image = preprocessor.preprocess(Files.readAllBytes(
                HfFixture.VICUNA.dir().resolve("../images").resolve(batch.path("images").get(0).asText())));
        AnnotationInput row = new AnnotationInput("a", image, prompt, Task.VQA, List.of(), GenerationConfig.greedy(2));
        long pixels = 3L * config.vision().imageSize() * config.vision().imageSize() * Float.BYTES;
        long hidden = config.languageHiddenSize();
        try (InstructBlipAnnotator opened = InstructBlipAnnotator.open(packageDir, DEVICE_BOUND)) {
            long instruction = 2L * opened.prompts().encode(prompt, 2).qformerIds().length * Long.BYTES;
            long textTokens = opened.prompts().encode(prompt, 2).textIds().length;
            long choiceCount = opened.language().offersChoices() ? Long.BYTES : 0;

            HostTrafficStats before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row)).get(0).isSuccess()).isTrue();
            HostTrafficStats one = opened.hostTraffic().since(before);
            assertThat(one.imageToDevice()).isEqualTo(pixels + instruction);
            assertThat(one.imageToHost()).isZero();
            assertThat(one.prefills()).isEqualTo(1);
            // the prompt's ids out to the embedding lookup, its embeddings back and in again, the row's gather
            // index, then the decoder's seqlens_k, total length, logit position (and choice count)
            assertThat(one.prefillToDevice()).isEqualTo(textTokens * Long.BYTES + textTokens * hidden * Float.BYTES
                    + Long.BYTES + Integer.BYTES + Integer.BYTES + Long.BYTES + choiceCount);

            before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row, row)).get(1).isSuccess()).isTrue();
            HostTrafficStats two = opened.hostTraffic().since(before);
            assertThat(two.imageToDevice()).isEqualTo(pixels + 2 * instruction + 2 * Long.BYTES); // one image, gathered
            assertThat(two.imageToHost()).isZero();
            assertThat(two.prefillToDevice()).isEqualTo(2 * (textTokens * Long.BYTES + textTokens * hidden * Float.BYTES
                    + Long.BYTES + Integer.BYTES + Long.BYTES) + Integer.BYTES + choiceCount);
            assertThat(opened.visionStats().imagesEncoded()).isEqualTo(2);
            assertThat(opened.visionStats().duplicateRows()).isEqualTo(1);
            assertThat(((BoundImageSide) opened.queryEncoder()).liveQueryBlocks()).isZero();
        }
    }

    /**
     * A mixed batch — several images, a repeated image under two prompts and an exact repeat, a bad row, candidate
     * ranking, beams and sampling — gives through the device-bound runner, its prefixes' image part on the device,
     * the Java-API runner's outputs, and every device block of queries is released once the call returns.
     */
    @Test
    void aMixedBatchWithThePrefixOnTheDeviceEqualsTheJavaApiRunner() throws Exception {
        JsonNode batch = reference.path("batch");
        ImageTensor[] images = new ImageTensor[3];
        String[] prompts = new String[3];
        for (int i = 0; i < 3; i++) {
            images[i] = preprocessor.preprocess(Files.readAllBytes(
                    HfFixture.VICUNA.dir().resolve("../images").resolve(batch.path("images").get(i).asText())));
            prompts[i] = batch.path("prompts").get(i).asText();
        }
        GenerationConfig six = GenerationConfig.greedy(6);
        List<AnnotationInput> rows = List.of(
                new AnnotationInput("a", images[0], prompts[0], Task.VQA, List.of(), six),
                new AnnotationInput("b", images[1], prompts[1], Task.VQA, List.of(), six),
                new AnnotationInput("repeated image", images[0], prompts[2], Task.VQA, List.of(), six),
                new AnnotationInput("bad", images[2], "word ".repeat(400), Task.VQA, List.of(), six),
                new AnnotationInput("rank", images[1], prompts[1], Task.RANK, List.of("a cat", "two dogs", "red"),
                        six),
                new AnnotationInput("beams", images[2], prompts[2], Task.VQA, List.of(), six.withBeams(3, 2)),
                new AnnotationInput("sampled", images[1], prompts[0], Task.VQA, List.of(),
                        six.withSampling(true, 0.8, 20, 0.95).withSeed(5)),
                new AnnotationInput("exact repeat", images[0], prompts[0], Task.VQA, List.of(), six));
        List<AnnotationOutcome> expected;
        try (InstructBlipAnnotator java = InstructBlipAnnotator.open(packageDir, RuntimeOptions.cpu(1))) {
            expected = java.annotate(rows);
        }
        try (InstructBlipAnnotator bound = InstructBlipAnnotator.open(packageDir, DEVICE_BOUND)) {
            List<AnnotationOutcome> out = bound.annotate(rows);
            assertThat(out.get(3).errorCode()).isEqualTo(ErrorCode.PROMPT_TOO_LONG);
            assertSameOutcomes(out, expected);
            assertThat(bound.hostTraffic().imageToHost()).isZero();
            assertThat(((BoundImageSide) bound.queryEncoder()).liveQueryBlocks()).isZero();

            // rows joining mid-way (continuous batching, two active rows), prefixes built ahead of admission
            List<AnnotationOutcome> continuous = new ArrayList<>(Collections.nCopies(rows.size(), null));
            bound.annotateContinuously(rows, 2, continuous::set);
            assertSameOutcomes(continuous, expected);
            assertThat(((BoundImageSide) bound.queryEncoder()).liveQueryBlocks()).isZero();
        }
    }

    /**
     * A call's queries are one device block shared by its rows' prefixes: it lives while any of them is open and is
     * freed when the last one closes.
     */
    @Test
    void theQueryBlockLivesUntilItsLastPrefixIsClosed() throws Exception {
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        JsonNode batch = reference.path("batch");
        Manifest manifest = Manifest.read(packageDir);
        ImageTensor image = preprocessor.preprocess(Files.readAllBytes(
                HfFixture.VICUNA.dir().resolve("../images").resolve(batch.path("images").get(0).asText())));
        long[] ids = {1, 2, 3};
        float[][] text = new float[2][config.languageHiddenSize()];
        try (BoundImageSide bound = BoundImageSide.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, RuntimeOptions.cpu(1))) {
            List<VisualPrefix> prefixes = bound.prefixes(List.of(image, image), new long[][] {ids, ids},
                    new float[][][] {text, text});
            assertThat(prefixes).allSatisfy(p -> {
                assertThat(p.onDevice()).isTrue();
                assertThat(p.length()).isEqualTo(config.numQueryTokens() + 2);
            });
            assertThat(bound.liveQueryBlocks()).isEqualTo(1);
            prefixes.get(0).close();
            prefixes.get(0).close(); // closing twice releases once
            assertThat(bound.liveQueryBlocks()).isEqualTo(1);
            prefixes.get(1).close();
            assertThat(bound.liveQueryBlocks()).isZero();
            assertThat(bound.traffic().imageToHost()).isZero();
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
