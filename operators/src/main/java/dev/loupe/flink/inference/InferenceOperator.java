package dev.loupe.flink.inference;

import dev.loupe.flink.batch.Batch;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.CandidateScore;
import dev.loupe.schemas.Timings;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the model on each {@link Batch}: the {@link BatchAnnotator} is created in {@link #open} from the
 * {@link AnnotatorFactory}; each outcome becomes an {@link AnnotationResult} or an "inference" failure on
 * {@link Failures#TAG}. This is the pipeline's one failure-isolation layer: if the annotator fails a whole batch
 * (throws, or returns the wrong number of outcomes), every element is retried alone once, so one poison input cannot
 * fail its batch mates; an element's own outcome when alone stands (with its error code), and one that makes the
 * annotator throw even alone is dead-lettered with INFERENCE_FAILED. Annotators do not retry rows themselves.
 */
public final class InferenceOperator extends ProcessFunction<Batch<PreparedRequest>, AnnotationResult> {
    private static final Logger LOG = LoggerFactory.getLogger(InferenceOperator.class);

    private final AnnotatorFactory factory;
    private transient BatchAnnotator annotator;
    private transient Histogram inferenceMillis;
    private transient Counter images;
    private transient volatile boolean closed;

    public InferenceOperator(AnnotatorFactory factory) {
        this.factory = factory;
    }

    /**
     * When the TaskManager has GPUs (Flink's {@code gpu} external resource), subtasks spread over them by index;
     * subtasks on one GPU share its runtime.
     */
    private AnnotatorFactory factoryForThisSubtask() {
        java.util.List<Integer> gpus = getRuntimeContext().getExternalResourceInfos("gpu").stream()
                .map(info -> info.getProperty("index"))
                .flatMap(java.util.Optional::stream)
                .map(Integer::parseInt)
                .sorted()
                .toList();
        if (gpus.isEmpty()) {
            return factory;
        }
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        return factory.forDevice(gpus.get(subtask % gpus.size()));
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        annotator = factoryForThisSubtask().createAnnotator();
        var metrics = getRuntimeContext().getMetricGroup();
        inferenceMillis = metrics.histogram("inferenceMillis", new DescriptiveStatisticsHistogram(1024));
        images = metrics.counter("imagesAnnotated");
        metrics.meter("imagesPerSecond", new MeterView(images));
        registerVisionGauges(metrics);
    }

    /**
     * The image stage's reuse ({@link VisionFeatureStats}): counts of the runtime this subtask shares with the other
     * subtasks of its TaskManager, so every subtask on it reports the same figures (do not sum them).
     */
    private void registerVisionGauges(MetricGroup metrics) {
        metrics.gauge("visionImagesEncoded", (Gauge<Long>) () -> visionStats().imagesEncoded());
        metrics.gauge("visionDuplicateRows", (Gauge<Long>) () -> visionStats().duplicateRows());
        metrics.gauge("visionCacheHits", (Gauge<Long>) () -> visionStats().cacheHits());
        metrics.gauge("visionCacheMisses", (Gauge<Long>) () -> visionStats().cacheMisses());
        metrics.gauge("visionCacheBytes", (Gauge<Long>) () -> visionStats().cacheBytes());
    }

    /** The shared runtime's figures while this subtask holds it (a reporter may still poll after close). */
    private VisionFeatureStats visionStats() {
        return closed ? VisionFeatureStats.NONE : annotator.visionStats();
    }

    @Override
    public void close() {
        closed = true;
        if (annotator != null) {
            annotator.close();
        }
    }

    @Override
    public void processElement(Batch<PreparedRequest> batch, Context ctx, Collector<AnnotationResult> out) {
        List<AnnotationInput> inputs = new ArrayList<>(batch.size());
        for (PreparedRequest r : batch.elements) {
            inputs.add(r.toInput());
        }
        long start = System.nanoTime();
        List<AnnotationOutcome> outcomes;
        try {
            outcomes = annotator.annotate(inputs);
            if (outcomes == null || outcomes.size() != inputs.size()) {
                throw new IllegalStateException("annotator returned " + (outcomes == null ? "null" : outcomes.size())
                        + " outcomes for " + inputs.size() + " inputs");
            }
        } catch (RuntimeException e) {
            LOG.warn("Batch of {} failed ({}); retrying each request alone", inputs.size(), e.toString());
            retryAlone(batch, inputs, ctx, out);
            return;
        }
        long millis = elapsedMillis(start);
        inferenceMillis.update(millis);
        for (int i = 0; i < inputs.size(); i++) {
            emit(batch.elements.get(i), outcomes.get(i), batch.queueMillis[i], millis, batch.size(), ctx, out);
        }
    }

    private void retryAlone(Batch<PreparedRequest> batch, List<AnnotationInput> inputs, Context ctx,
            Collector<AnnotationResult> out) {
        for (int i = 0; i < inputs.size(); i++) {
            PreparedRequest request = batch.elements.get(i);
            long start = System.nanoTime();
            AnnotationOutcome outcome;
            try {
                List<AnnotationOutcome> single = annotator.annotate(List.of(inputs.get(i)));
                if (single == null || single.size() != 1) {
                    throw new IllegalStateException("annotator returned no outcome for a single input");
                }
                outcome = single.get(0);
            } catch (RuntimeException e) {
                outcome = AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, "model failed on this request: " + e);
            }
            long millis = elapsedMillis(start);
            inferenceMillis.update(millis);
            emit(request, outcome, batch.queueMillis[i], millis, 1, ctx, out);
        }
    }

    private void emit(PreparedRequest request, AnnotationOutcome outcome, long queueMillis, long inferenceMillis,
            int batchSize, Context ctx, Collector<AnnotationResult> out) {
        if (!outcome.isSuccess()) {
            ErrorCode code = outcome.errorCode() == null ? ErrorCode.INFERENCE_FAILED : outcome.errorCode();
            ctx.output(Failures.TAG, request.request.failure(Failures.INFERENCE, code, outcome.errorMessage())
                    .toRecord(System.currentTimeMillis()));
            return;
        }
        images.inc();
        out.collect(toResult(request, outcome.annotation(), queueMillis, inferenceMillis, batchSize));
    }

    private AnnotationResult toResult(PreparedRequest prepared, Annotation a, long queueMillis, long inferenceMillis,
            int batchSize) {
        ValidatedRequest r = prepared.request;
        List<Integer> tokenIds = new ArrayList<>(a.tokenIds().length);
        for (int id : a.tokenIds()) {
            tokenIds.add(id);
        }
        List<CandidateScore> candidates = new ArrayList<>(a.candidates().size());
        for (Annotation.CandidateScore c : a.candidates()) {
            candidates.add(new CandidateScore(c.text(), c.score()));
        }
        return AnnotationResult.newBuilder()
                .setId(r.id)
                .setTask(r.task.wireName())
                .setPrompt(r.prompt)
                .setText(a.text() == null ? "" : a.text())
                .setTokenIds(tokenIds)
                .setScore(Double.isNaN(a.score()) ? null : a.score())
                .setCandidates(candidates)
                .setModelId(nullToEmpty(annotator.modelId()))
                .setModelVersion(nullToEmpty(annotator.modelVersion()))
                .setTimings(new Timings(queueMillis, prepared.fetchMillis, inferenceMillis))
                .setBatchSize(batchSize)
                .setMetadata(new HashMap<>(r.metadata))
                .build();
    }

    private static long elapsedMillis(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
