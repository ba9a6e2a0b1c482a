package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The InstructBLIP fixture on the CUDA execution provider gives transformers' greedy tokens. Runs only with the
 * onnxruntime_gpu build ({@code mvn -Pgpu}); skipped where the CUDA provider is not available.
 */
class CudaExecutionTest {
    @TempDir
    Path tmp;

    @Test
    void fixtureGreedyTokensOnCuda() throws Exception {
        assumeTrue(OrtSessions.cudaAvailable(), "no CUDA execution provider in this ONNX Runtime build");
        Path fixture = Path.of(System.getProperty("loupe.fixtures"), "hf-reference", "instructblip-vicuna");
        JsonNode single = new ObjectMapper().readTree(fixture.resolve("reference.json").toFile()).path("single");
        Path pkg = tmp.resolve("pkg");
        Models.convert(fixture.resolve("checkpoint"), pkg);
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1).withDevice(RuntimeOptions.Device.CUDA));
        byte[] png = Files.readAllBytes(fixture.resolve("../images").resolve(single.path("image").asText()));
        JsonNode expected = single.path("greedy").path("new_token_ids");
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            List<AnnotationOutcome> out = annotator.annotate(List.of(new AnnotationInput("cuda",
                    factory.createPreprocessor().preprocess(png), single.path("prompt").asText(), Task.VQA, List.of(),
                    GenerationConfig.greedy(expected.size()))));
            assertThat(out.get(0).isSuccess()).as("%s", out.get(0)).isTrue();
            int[] ids = out.get(0).annotation().tokenIds();
            assertThat(ids).hasSize(expected.size());
            for (int i = 0; i < ids.length; i++) {
                assertThat(ids[i]).as("token %d", i).isEqualTo(expected.get(i).asInt());
            }
        }
    }
}
