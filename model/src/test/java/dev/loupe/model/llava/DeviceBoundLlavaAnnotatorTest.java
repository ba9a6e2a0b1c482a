package dev.loupe.model.llava;

import static dev.loupe.model.testing.SameOutcomes.assertSameOutcomes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.DeviceBoundVariant;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.testing.TestDevice;
import dev.loupe.model.llm.VisualPrefix;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LlavaAnnotatorTest} (greedy and beam parity, batch invariance, candidate ranking, failure isolation) with the
 * device-bound decoder runner over LLaVA's fused LLaMA decoder (IoBinding; CPU memory here), whose image side
 * ({@link BoundLlavaImageSide}) leaves the projected features in the device's memory for the prefill.
 */
class DeviceBoundLlavaAnnotatorTest extends LlavaAnnotatorTest implements DeviceBoundVariant {
    private static final RuntimeOptions DEVICE_BOUND = TestDevice.apply(RuntimeOptions.cpu(1)
            .withRunner(RuntimeOptions.Runner.DEVICE_BOUND));

    /** The tests above ran through the device-bound runner; auto keeps the Java API on CPU. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options)) {
            assertThat(opened.languageModel()).isInstanceOf(DeviceBoundDecoder.class);
            assertThat(opened.imageEncoder()).isInstanceOf(BoundLlavaImageSide.class);
            assertThat(opened.hostTraffic().steps()).isZero();
        }
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.languageModel()).isNotInstanceOf(DeviceBoundDecoder.class);
            assertThat(opened.imageEncoder()).isInstanceOf(LlavaImageEncoder.class);
        }
    }

    /**
     * What of the image side crosses the host boundary per call: the pixels of each distinct image go in, nothing
     * comes back. The projected features (image_seq_length x hidden floats per image) stay on the device, where the
     * prefill splices them between the prompt's embeddings: only the prompt's own tokens (not the image placeholders)
     * are looked up and cross, with one gather index per row.
     */
    @Test
    void theImageSideSendsPixelsAndNothingComesBack() throws Exception {
        LlavaConfig config = LlavaConfig.fromJson(Manifest.read(packageDir).config());
        long hidden = LlamaConfig.fromJson(config.textConfig()).hiddenSize();
        JsonNode single = reference.path("single");
        String prompt = LlavaTemplate.plain(single.path("prompt").asText());
        AnnotationInput row = new AnnotationInput("a", preprocessor.preprocess(Files.readAllBytes(HfFixture.image(
                single.path("image").asText()))), prompt, Task.VQA, List.of(), GenerationConfig.greedy(2));
        int size = config.vision().imageSize();
        long pixels = 3L * size * size * Float.BYTES;
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, DEVICE_BOUND)) {
            long textTokens = opened.inputIds(prompt).length - config.imageSeqLength();
            long choiceCount = opened.languageModel().offersChoices() ? Long.BYTES : 0;
            HostTrafficStats before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row)).get(0).isSuccess()).isTrue();
            HostTrafficStats one = opened.hostTraffic().since(before);
            assertThat(one.imageToDevice()).isEqualTo(pixels);
            assertThat(one.imageToHost()).isZero();
            assertThat(one.prefills()).isEqualTo(1);
            // the prompt's ids out to the embedding lookup, their embeddings back and in again (before and after the
            // image), the row's gather index, then the decoder's seqlens_k, total length, logit position (and choice
            // count)
            assertThat(one.prefillToDevice()).isEqualTo(textTokens * Long.BYTES + textTokens * hidden * Float.BYTES
                    + Long.BYTES + Integer.BYTES + Integer.BYTES + Long.BYTES + choiceCount);
            assertThat(one.prefillToHost()).isLessThan(textTokens * hidden * Float.BYTES
                    + (long) config.imageSeqLength() * hidden * Float.BYTES);

            before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row, row)).get(1).isSuccess()).isTrue();
            HostTrafficStats two = opened.hostTraffic().since(before);
            assertThat(two.imageToDevice()).isEqualTo(pixels); // one image, its features row read by both
            assertThat(two.imageToHost()).isZero();
            assertThat(two.prefillToDevice()).isEqualTo(2 * (textTokens * Long.BYTES + textTokens * hidden * Float.BYTES
                    + Long.BYTES + Integer.BYTES + Long.BYTES) + Integer.BYTES + choiceCount);
            assertThat(opened.visionStats().imagesEncoded()).isEqualTo(2);
            assertThat(opened.visionStats().duplicateRows()).isEqualTo(1);
            assertThat(((BoundLlavaImageSide) opened.imageEncoder()).liveFeatureBlocks()).isZero();
        }
    }

    /**
     * A mixed batch — several images, a repeated image under another prompt and an exact repeat, a bad row, a row
     * whose prompt is templated by the caller (its image in another place), candidate ranking, beams and sampling —
     * gives through the device-bound runner, the features on the device, the Java-API runner's outputs, statically and
     * with continuous admission, and every device block of features is released once the call returns.
     */
    @Test
    void aMixedBatchWithTheFeaturesOnTheDeviceEqualsTheJavaApiRunner() throws Exception {
        JsonNode batch = reference.path("batch");
        ImageTensor[] images = new ImageTensor[3];
        String[] prompts = new String[3];
        for (int i = 0; i < 3; i++) {
            images[i] = preprocessor.preprocess(Files.readAllBytes(HfFixture.image(batch.path("images").get(i)
                    .asText())));
            prompts[i] = LlavaTemplate.plain(batch.path("prompts").get(i).asText());
        }
        GenerationConfig six = GenerationConfig.greedy(6);
        List<AnnotationInput> rows = List.of(
                new AnnotationInput("a", images[0], prompts[0], Task.VQA, List.of(), six),
                new AnnotationInput("b", images[1], prompts[1], Task.VQA, List.of(), six),
                new AnnotationInput("repeated image", images[0], prompts[2], Task.VQA, List.of(), six),
                new AnnotationInput("bad", images[2], "word ".repeat(400), Task.VQA, List.of(), six),
                new AnnotationInput("image later", images[2], "USER: Look. <image>\nWhat is it? ASSISTANT:",
                        Task.VQA, List.of(), six),
                new AnnotationInput("rank", images[1], prompts[1], Task.RANK, List.of("a cat", "two dogs", "red"),
                        six),
                new AnnotationInput("beams", images[2], prompts[2], Task.VQA, List.of(), six.withBeams(3, 2)),
                new AnnotationInput("sampled", images[1], prompts[0], Task.VQA, List.of(),
                        six.withSampling(true, 0.8, 20, 0.95).withSeed(5)),
                new AnnotationInput("exact repeat", images[0], prompts[0], Task.VQA, List.of(), six));
        List<AnnotationOutcome> expected;
        try (LlavaAnnotator java = LlavaAnnotator.open(packageDir, RuntimeOptions.cpu(1))) {
            expected = java.annotate(rows);
        }
        assertThat(expected.get(3).errorCode()).isEqualTo(ErrorCode.PROMPT_TOO_LONG);
        assertThat(expected).filteredOn(AnnotationOutcome::isSuccess).hasSize(rows.size() - 1);
        try (LlavaAnnotator bound = LlavaAnnotator.open(packageDir, DEVICE_BOUND)) {
            assertSameOutcomes(bound.annotate(rows), expected);
            assertThat(bound.hostTraffic().imageToHost()).isZero();
            BoundLlavaImageSide side = (BoundLlavaImageSide) bound.imageEncoder();
            assertThat(side.liveFeatureBlocks()).isZero();

            // rows joining mid-way (continuous batching, two active rows), prefixes built ahead of admission
            List<AnnotationOutcome> continuous = new ArrayList<>(Collections.nCopies(rows.size(), null));
            bound.annotateContinuously(rows, 2, continuous::set);
            assertSameOutcomes(continuous, expected);
            assertThat(bound.hostTraffic().imageToHost()).isZero();
            assertThat(side.liveFeatureBlocks()).isZero();
        }
    }

    /**
     * A call's features are one device block (a row per distinct image) shared by its rows' prefixes: it lives while
     * any of them is open and is freed when the last one closes.
     */
    @Test
    void theFeatureBlockLivesUntilItsLastPrefixIsClosed() throws Exception {
        LlavaConfig config = LlavaConfig.fromJson(Manifest.read(packageDir).config());
        int hidden = LlamaConfig.fromJson(config.textConfig()).hiddenSize();
        ImageTensor image = preprocessor.preprocess(Files.readAllBytes(HfFixture.image(
                reference.path("single").path("image").asText())));
        float[][] before = new float[3][hidden];
        float[][] after = new float[2][hidden];
        try (BoundLlavaImageSide bound = BoundLlavaImageSide.open(imageGraph(), config, hidden, TestDevice.apply(
                RuntimeOptions.cpu(1)))) {
            List<VisualPrefix> prefixes = bound.prefixes(List.of(image, image), new float[][][] {before, before},
                    new float[][][] {after, after});
            assertThat(prefixes).allSatisfy(p -> {
                assertThat(p.onDevice()).isTrue();
                assertThat(p.length()).isEqualTo(3 + config.imageSeqLength() + 2);
            });
            assertThat(bound.liveFeatureBlocks()).isEqualTo(1);
            prefixes.get(0).close();
            prefixes.get(0).close(); // closing twice releases once
            assertThat(bound.liveFeatureBlocks()).isEqualTo(1);
            prefixes.get(1).close();
            assertThat(bound.liveFeatureBlocks()).isZero();
            assertThat(bound.traffic()).isEqualTo(HostTrafficStats.imageSide(
                    3L * config.vision().imageSize() * config.vision().imageSize() * Float.BYTES, 0));
        }
    }

    /** The bound image side gives each image the Java-API image side's features, bit for bit, repeated images too. */
    @Test
    void theBoundImageSideEqualsTheJavaApiOneBitForBit() throws Exception {
        LlavaConfig config = LlavaConfig.fromJson(Manifest.read(packageDir).config());
        int hidden = LlamaConfig.fromJson(config.textConfig()).hiddenSize();
        JsonNode batch = reference.path("batch");
        ImageTensor[] images = new ImageTensor[3];
        for (int i = 0; i < 3; i++) {
            images[i] = preprocessor.preprocess(Files.readAllBytes(HfFixture.image(batch.path("images").get(i)
                    .asText())));
        }
        List<ImageTensor> rows = List.of(images[2], images[0], images[2], images[1]);
        RuntimeOptions options = RuntimeOptions.cpu(1).withVisionCacheBytes(0);
        try (LlavaImageEncoder java = LlavaImageEncoder.open(imageGraph(), config, options);
             BoundLlavaImageSide bound = BoundLlavaImageSide.open(imageGraph(), config, hidden, options)) {
            assertThat(bound.encode(rows)).isDeepEqualTo(java.encode(rows));
            assertThat(bound.encode(rows.subList(3, 4))).isDeepEqualTo(java.encode(rows.subList(3, 4)));
            assertThat(bound.visionStats().imagesEncoded()).isEqualTo(4);
            assertThat(bound.visionStats().duplicateRows()).isEqualTo(1);
            assertThat(bound.liveFeatureBlocks()).isZero();
        }
    }

    private static java.nio.file.Path imageGraph() throws Exception {
        return Manifest.read(packageDir).graph(packageDir, LlavaPackage.GRAPH_IMAGE);
    }

    /** A package with the plain decoder graph cannot run device-bound: a clear error names the way out. */
    @Test
    void aPlainDecoderPackageIsRefusedWithTheWayOut() throws Exception {
        java.nio.file.Path plain = tmp.resolve("plain");
        Models.convert(HfFixture.LLAVA.checkpoint(), plain, Precision.FP32, DecoderGraphKind.PLAIN);
        assertThatThrownBy(() -> LlavaAnnotator.open(plain,
                RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND)))
                .hasMessageContaining("fused decoder").hasMessageContaining("ort-java");
    }
}
