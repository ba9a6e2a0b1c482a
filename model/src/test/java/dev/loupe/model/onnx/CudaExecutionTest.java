package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.testing.TestDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The InstructBLIP-Vicuna fixture on the CUDA execution provider gives transformers' greedy tokens: the float32
 * package through the device-bound runner (what {@code auto} takes on CUDA) and through the Java API, and the
 * fp16-compute package (float16 arithmetic) through the device-bound runner. Runs where a GPU run asks for it
 * ({@code -Dloupe.test.device=cuda}, {@link TestDevice}) and ONNX Runtime's gpu build is loaded; skipped elsewhere
 * (CI has no GPU). The device-bound parity suites ({@code DeviceBound*Test}) run on CUDA under the same property.
 */
class CudaExecutionTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needsCuda() {
        assumeTrue(TestDevice.cuda(), "not asked to run on a GPU (-D" + TestDevice.PROPERTY + "=cuda)");
        assumeTrue(OrtSessions.cudaAvailable(), "no CUDA execution provider in this ONNX Runtime build");
    }

    @Test
    void float32FixtureGreedyTokensOnTheDeviceBoundRunner() throws Exception {
        HostTrafficStats traffic = assertGreedyTokens(Precision.FP32, RuntimeOptions.Runner.DEVICE_BOUND);
        // Per step only next-token choices cross the host boundary, whatever the context length.
        assertThat(traffic.steps()).isPositive();
        System.out.printf("cuda fp32 device-bound: %d steps, %d B/step to device, %d B/step to host%n",
                traffic.steps(), traffic.stepToDevice() / traffic.steps(), traffic.stepToHost() / traffic.steps());
    }

    @Test
    void float32FixtureGreedyTokensThroughTheJavaApi() throws Exception {
        assertGreedyTokens(Precision.FP32, RuntimeOptions.Runner.ORT_JAVA);
    }

    @Test
    void fp16ComputeFixtureGreedyTokensOnTheDeviceBoundRunner() throws Exception {
        assertGreedyTokens(Precision.FP16_COMPUTE, RuntimeOptions.Runner.DEVICE_BOUND);
    }

    private HostTrafficStats assertGreedyTokens(Precision precision, RuntimeOptions.Runner runner) throws Exception {
        HfFixture fixture = HfFixture.VICUNA;
        JsonNode single = fixture.reference().path("single");
        Path pkg = tmp.resolve("pkg");
        Models.convert(fixture.checkpoint(), pkg, precision, DecoderGraphKind.FUSED);
        AnnotatorFactory factory = Models.open(pkg, TestDevice.apply(RuntimeOptions.cpu(1)).withRunner(runner));
        byte[] png = Files.readAllBytes(fixture.dir().resolve("../images").resolve(single.path("image").asText()));
        JsonNode expected = single.path("greedy").path("new_token_ids");
        int[] want = new int[expected.size()];
        for (int i = 0; i < want.length; i++) {
            want[i] = expected.get(i).asInt();
        }
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            HostTrafficStats before = annotator.hostTraffic();
            List<AnnotationOutcome> out = annotator.annotate(List.of(new AnnotationInput("cuda",
                    factory.createPreprocessor().preprocess(png), single.path("prompt").asText(), Task.VQA, List.of(),
                    GenerationConfig.greedy(want.length))));
            assertThat(out.get(0).isSuccess()).as("%s", out.get(0)).isTrue();
            int[] ids = out.get(0).annotation().tokenIds();
            System.out.printf("cuda %s %s greedy: %s (transformers %s)%n", precision, runner, Arrays.toString(ids),
                    Arrays.toString(want));
            assertThat(ids).containsExactly(want);
            return annotator.hostTraffic().since(before);
        }
    }
}
