package dev.loupe.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.flink.testing.HookedAnnotator;
import dev.loupe.flink.testing.TestImagePreprocessor;
import dev.loupe.flink.testing.TestImages;
import dev.loupe.flink.testing.TestRequests;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU shared on purpose: with {@code loupe.pipeline.task-niceness} the thread that decodes and resizes runs at
 * that nice value while the model keeps the process's priority, so the kernel gives the model the cores.
 */
class TaskThreadPriorityTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(1).build());

    /** Nice values seen by the preprocessor and by the model, per run. */
    static final Set<Integer> PREPROCESSING = ConcurrentHashMap.newKeySet();
    static final Set<Integer> MODEL = ConcurrentHashMap.newKeySet();

    @TempDir
    Path tmp;

    @Test
    void imagesArePreprocessedAtTheTaskNicenessWhileTheModelKeepsTheProcesssPriority() throws Exception {
        assumeTrue(ThreadNiceness.supported(), "per-thread nice values need Linux");
        int base = ThreadNiceness.current().orElseThrow();
        assumeTrue(base < 7, "the test JVM already runs at nice " + base);
        assertThat(run(7)).hasSize(6);
        assertThat(PREPROCESSING).containsExactly(7);
        assertThat(MODEL).containsExactly(base);
        assertThat(compilerThreadNiceValues()).as("the JIT compiler threads").isNotEmpty().allSatisfy(
                nice -> assertThat(nice).isGreaterThanOrEqualTo(7));
    }

    /** The nice values of this JVM's JIT compiler threads ({@code C1/C2 CompilerThread*}). */
    private static List<Integer> compilerThreadNiceValues() throws IOException {
        List<Integer> values = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).matches("C[12] CompilerThre.*\\s*")) {
                        values.add(ThreadNiceness.of(Integer.parseInt(task.getFileName().toString())).orElseThrow());
                    }
                } catch (IOException | NoSuchElementException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return values;
    }

    @Test
    void niceness0LeavesTheTaskThreadsAsTheyAre() throws Exception {
        assumeTrue(ThreadNiceness.supported(), "per-thread nice values need Linux");
        int base = ThreadNiceness.current().orElseThrow();
        assertThat(run(0)).hasSize(6);
        assertThat(PREPROCESSING).containsExactly(base);
        assertThat(MODEL).containsExactly(base);
    }

    private List<AnnotationResult> run(int niceness) throws Exception {
        PREPROCESSING.clear();
        MODEL.clear();
        List<AnnotationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Path image = tmp.resolve("p-" + niceness + "-" + i + ".png");
            Files.write(image, TestImages.png(2, 2, new Color(30 * i, 40, 50)));
            requests.add(TestRequests.uri("p-" + i, image.toUri().toString()).build());
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        PipelineOptions options = PipelineOptions.builder().fileRoots(List.of(tmp)).batchMaxSize(2)
                .taskNiceness(niceness).build();
        AnnotationPipeline.Outputs outputs = AnnotationPipeline.fromRequests(env.fromData(AnnotationPipeline.REQUEST_TYPE,
                requests.toArray(new AnnotationRequest[0])), new RecordingFactory(), options);
        List<AnnotationResult> results = new ArrayList<>();
        try (CloseableIterator<AnnotationResult> r = outputs.results().collectAsync()) {
            env.execute("task-thread-priority");
            r.forEachRemaining(results::add);
        }
        return results;
    }

    /** The test model, recording the nice value of the threads that preprocess and annotate. */
    static final class RecordingFactory implements AnnotatorFactory {
        private static final long serialVersionUID = 1L;

        @Override
        public ImagePreprocessor createPreprocessor() {
            ImagePreprocessor inner = new TestImagePreprocessor(1 << 20);
            return encoded -> {
                PREPROCESSING.add(ThreadNiceness.current().orElseThrow());
                return inner.preprocess(encoded);
            };
        }

        @Override
        public BatchAnnotator createAnnotator() {
            return new HookedAnnotator(batch -> MODEL.add(ThreadNiceness.current().orElseThrow()));
        }
    }
}
