package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
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
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LlavaAnnotatorTest} (greedy and beam parity, batch invariance, candidate ranking, failure isolation) with the
 * device-bound decoder runner over LLaVA's fused LLaMA decoder (IoBinding; CPU memory here).
 */
class DeviceBoundLlavaAnnotatorTest extends LlavaAnnotatorTest implements DeviceBoundVariant {

    /** The tests above ran through the device-bound runner; auto keeps the Java API on CPU. */
    @Test
    void theLanguageModelRunsThroughTheDeviceBoundRunner() throws Exception {
        RuntimeOptions options = RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND);
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options)) {
            assertThat(opened.languageModel()).isInstanceOf(DeviceBoundDecoder.class);
            assertThat(opened.hostTraffic().steps()).isZero();
        }
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir, options.withRunner(RuntimeOptions.Runner.AUTO))) {
            assertThat(opened.languageModel()).isNotInstanceOf(DeviceBoundDecoder.class);
        }
    }

    /**
     * LLaVA's image side is one graph whose output is the visual prefix: per encoded image its pixels go in and its
     * projected features come out, and an image whose features are reused (the vision cache) moves nothing.
     */
    @Test
    void theImageSidesBytesAreCounted() throws Exception {
        LlavaConfig config = LlavaConfig.fromJson(Manifest.read(packageDir).config());
        int hidden = LlamaConfig.fromJson(config.textConfig()).hiddenSize();
        JsonNode single = reference.path("single");
        AnnotationInput row = new AnnotationInput("a", preprocessor.preprocess(Files.readAllBytes(HfFixture.image(
                single.path("image").asText()))), LlavaTemplate.plain(single.path("prompt").asText()), Task.VQA,
                List.of(), GenerationConfig.greedy(2));
        int size = config.vision().imageSize();
        try (LlavaAnnotator opened = LlavaAnnotator.open(packageDir,
                RuntimeOptions.cpu(1).withRunner(RuntimeOptions.Runner.DEVICE_BOUND))) {
            HostTrafficStats before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row)).get(0).isSuccess()).isTrue();
            HostTrafficStats first = opened.hostTraffic().since(before);
            assertThat(first.imageToDevice()).isEqualTo(3L * size * size * Float.BYTES);
            assertThat(first.imageToHost()).isEqualTo((long) config.imageSeqLength() * hidden * Float.BYTES);

            before = opened.hostTraffic();
            assertThat(opened.annotate(List.of(row)).get(0).isSuccess()).isTrue();
            HostTrafficStats again = opened.hostTraffic().since(before);
            assertThat(again.imageToDevice()).isZero();
            assertThat(again.imageToHost()).isZero();
        }
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
