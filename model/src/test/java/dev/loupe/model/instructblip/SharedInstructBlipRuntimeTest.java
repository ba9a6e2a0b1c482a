package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.PackageAnnotatorFactory;
import dev.loupe.model.SharedAnnotator;
import dev.loupe.model.SharedRuntimes;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Annotators of one factory share one loaded runtime (one set of ONNX Runtime sessions) in the process, give the
 * same results as alone, and can be used from several threads at once.
 */
class SharedInstructBlipRuntimeTest {
    @TempDir
    static Path tmp;

    static PackageAnnotatorFactory factory;
    static List<AnnotationInput> rows;

    @BeforeAll
    static void convertFixture() throws Exception {
        Path pkg = tmp.resolve("pkg");
        Models.convert(HfFixture.VICUNA.checkpoint(), pkg);
        factory = (PackageAnnotatorFactory) Models.open(pkg, RuntimeOptions.cpu(1));
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        JsonNode batch = HfFixture.VICUNA.reference().path("batch");
        rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] png = Files.readAllBytes(HfFixture.VICUNA.dir().resolve("../images")
                    .resolve(batch.path("images").get(i).asText()));
            rows.add(new AnnotationInput("r" + i, preprocessor.preprocess(png), batch.path("prompts").get(i).asText(),
                    Task.VQA, List.of(), GenerationConfig.greedy(8)));
        }
    }

    private static List<int[]> tokenIds(List<AnnotationOutcome> outcomes) {
        List<int[]> out = new ArrayList<>();
        for (AnnotationOutcome o : outcomes) {
            assertThat(o.isSuccess()).as("%s", o).isTrue();
            out.add(o.annotation().tokenIds());
        }
        return out;
    }

    @Test
    void twoAnnotatorsShareOneRuntimeAndTheLastCloseReleasesIt() throws Exception {
        Object key = factory.runtimeKey();
        long loadsBefore = SharedRuntimes.loadCount();
        BatchAnnotator first = factory.createAnnotator();
        BatchAnnotator second = factory.createAnnotator();

        assertThat(((SharedAnnotator) second).runtime()).isSameAs(((SharedAnnotator) first).runtime());
        assertThat(SharedRuntimes.loadCount() - loadsBefore).isEqualTo(1);
        assertThat(SharedRuntimes.references(key)).isEqualTo(2);
        assertThat(tokenIds(second.annotate(rows))).containsExactlyElementsOf(tokenIds(first.annotate(rows)));
        assertThat(second.modelVersion()).isEqualTo(first.modelVersion());

        first.close();
        assertThat(SharedRuntimes.references(key)).isEqualTo(1);
        assertThat(tokenIds(second.annotate(rows))).hasSize(3); // still served after the other handle closed
        second.close();
        assertThat(SharedRuntimes.references(key)).isZero();
    }

    @Test
    void concurrentCallsFromTwoThreadsEqualSequentialCalls() throws Exception {
        List<AnnotationInput> other = List.of(rows.get(2), rows.get(0));
        try (BatchAnnotator a = factory.createAnnotator(); BatchAnnotator b = factory.createAnnotator()) {
            List<int[]> expectedA = tokenIds(a.annotate(rows));
            List<int[]> expectedB = tokenIds(a.annotate(other));
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                CyclicBarrier start = new CyclicBarrier(2);
                for (int round = 0; round < 3; round++) {
                    Future<List<AnnotationOutcome>> fa = pool.submit(() -> {
                        start.await();
                        return a.annotate(rows);
                    });
                    Future<List<AnnotationOutcome>> fb = pool.submit(() -> {
                        start.await();
                        return b.annotate(other);
                    });
                    assertThat(tokenIds(fa.get())).containsExactlyElementsOf(expectedA);
                    assertThat(tokenIds(fb.get())).containsExactlyElementsOf(expectedB);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        assertThat(SharedRuntimes.references(factory.runtimeKey())).isZero();
    }
}
