package dev.loupe.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.failure.FailureMetrics;
import dev.loupe.flink.inference.BatchInferenceOperator;
import dev.loupe.flink.inference.PreparedRequest;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.flink.testing.BlipTestAnnotatorFactory;
import dev.loupe.flink.testing.TestAnnotatorFactory;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.schemas.AnnotationFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingTaskMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamMap;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline's metrics, read back from an intercepting metric group. */
class PipelineMetricsTest {

    /** Records every metric, including those of nested key/value groups as "key.value.name". */
    private static final class CapturingGroup extends InterceptingOperatorMetricGroup {
        final Map<String, Metric> nested = new HashMap<>();

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new InterceptingOperatorMetricGroup() {
                @Override
                protected void addMetric(String name, Metric metric) {
                    nested.put(key + "." + value + "." + name, metric);
                }
            };
        }
    }

    private static <I, O> OneInputStreamOperatorTestHarness<I, O> harness(OneInputStreamOperator<I, O> operator,
            CapturingGroup group) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(operator, environment(group));
    }

    private static <I, O> OneInputStreamOperatorTestHarness<I, O> harness(
            OneInputStreamOperatorFactory<I, O> factory, CapturingGroup group) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(factory, environment(group));
    }

    private static MockEnvironment environment(CapturingGroup group) {
        return new MockEnvironmentBuilder().setMetricGroup(new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> vars) {
                return group;
            }
        }).build();
    }

    private static PreparedRequest prepared(String id) {
        return new PreparedRequest(new ValidatedRequest(id, "file:///x", null, Task.CAPTION, "p", List.of(),
                GenerationConfig.GREEDY, Map.of()), new ImageTensor(new float[] {0, 0, 0}, 3, 1, 1), 0);
    }

    @Test
    void inferenceReportsBatchSizesQueueWaitsTimePerBatchAndImagesPerSecond() throws Exception {
        CapturingGroup group = new CapturingGroup();
        try (var h = harness(new BatchInferenceOperator.Factory(new TestAnnotatorFactory(),
                TypeInformation.of(PreparedRequest.class), 2, Duration.ofMillis(10)), group)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(prepared("a"), 0);
            h.setProcessingTime(4);
            h.processElement(prepared("b"), 0);   // full: runs at once
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
            h.processElement(prepared("c"), 0);
            h.setProcessingTime(14);   // c's delay is over
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();

            Histogram sizes = (Histogram) group.get("batchSize");
            Histogram waits = (Histogram) group.get("queueWaitMillis");
            assertThat(sizes.getCount()).isEqualTo(2);
            assertThat(sizes.getStatistics().getMin()).isEqualTo(1);
            assertThat(sizes.getStatistics().getMax()).isEqualTo(2);
            assertThat(waits.getCount()).isEqualTo(3);
            assertThat(waits.getStatistics().getMax()).isEqualTo(10);
            assertThat(((Histogram) group.get("inferenceMillis")).getCount()).isEqualTo(2);
            assertThat(((Counter) group.get("imagesAnnotated")).getCount()).isEqualTo(3);
            assertThat(group.get("imagesPerSecond")).isInstanceOf(Meter.class);
            assertThat(((Meter) group.get("imagesPerSecond")).getCount()).isEqualTo(3);
        }
    }

    @Test
    void inferenceReportsHowOftenTheVisionEncoderRan(@TempDir Path tmp) throws Exception {
        RuntimeOptions runtime = new RuntimeOptions(RuntimeOptions.Device.CPU, 1, tmp.resolve("cache").toString());
        AnnotatorFactory factory = Models.open(BlipTestAnnotatorFactory.fixtureCheckpoint(), runtime);
        byte[] png = Files.readAllBytes(BlipTestAnnotatorFactory.fixtureCheckpoint()
                .resolve("../../images/img_64x64.png").normalize());
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        CapturingGroup group = new CapturingGroup();
        try (var h = harness(new BatchInferenceOperator.Factory(factory, TypeInformation.of(PreparedRequest.class), 3,
                Duration.ofMillis(10)), group)) {
            h.open();
            h.setProcessingTime(0);
            for (String id : List.of("a", "b", "c")) {   // a full batch of one image three times
                h.processElement(prepared(id, preprocessor.preprocess(png)), 0);
            }
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
            h.processElement(prepared("d", preprocessor.preprocess(png)), 0);
            h.setProcessingTime(10);   // its delay is over: the same image again, alone
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
            assertThat(h.extractOutputValues()).hasSize(4);
            assertThat(((Gauge<?>) group.get("visionImagesEncoded")).getValue()).isEqualTo(1L);
            assertThat(((Gauge<?>) group.get("visionDuplicateRows")).getValue()).isEqualTo(2L);
            assertThat(((Gauge<?>) group.get("visionCacheHits")).getValue()).isEqualTo(1L);
            assertThat(((Gauge<?>) group.get("visionCacheMisses")).getValue()).isEqualTo(1L);
            assertThat((Long) ((Gauge<?>) group.get("visionCacheBytes")).getValue()).isPositive();
        }
    }

    private static PreparedRequest prepared(String id, ImageTensor image) {
        return new PreparedRequest(new ValidatedRequest(id, "file:///x", null, Task.CAPTION, "a photo of", List.of(),
                GenerationConfig.greedy(2), Map.of()), image, 0);
    }

    @Test
    void failuresAreCountedPerErrorCode() throws Exception {
        CapturingGroup group = new CapturingGroup();
        try (var h = harness(new StreamMap<>(new FailureMetrics()), group)) {
            h.open();
            h.processElement(failure("IMAGE_NOT_FOUND"), 0);
            h.processElement(failure("IMAGE_EMPTY"), 0);
            h.processElement(failure("IMAGE_NOT_FOUND"), 0);
            assertThat(h.extractOutputValues()).hasSize(3);
            assertThat(((Counter) group.nested.get("errorCode.IMAGE_NOT_FOUND.failures")).getCount()).isEqualTo(2);
            assertThat(((Counter) group.nested.get("errorCode.IMAGE_EMPTY.failures")).getCount()).isEqualTo(1);
        }
    }

    private static AnnotationFailure failure(String code) {
        return AnnotationFailure.newBuilder().setStage("fetch").setErrorCode(code).setMessage("m")
                .setTimestampMillis(1L).build();
    }
}
