package dev.loupe.flink.inference;

import dev.loupe.flink.batch.Batch;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.CandidateScore;
import dev.loupe.schemas.Timings;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the model on one {@link Batch} and turns each outcome into an {@link AnnotationResult} or an "inference"
 * {@link AnnotationFailure}. This is the pipeline's one failure-isolation layer: if the annotator fails a whole batch
 * (throws, or returns the wrong number of outcomes), every element is retried alone once, so one poison input cannot
 * fail its batch mates; an element's own outcome when alone stands (with its error code), and one that makes the
 * annotator throw even alone is dead-lettered with INFERENCE_FAILED. Annotators do not retry rows themselves.
 * No Flink in here: {@link BatchInferenceOperator} runs it on its inference thread.
 */
public final class BatchInference {
    private static final Logger LOG = LoggerFactory.getLogger(BatchInference.class);

    /** What one batch produced, in batch order: results and failures, and the model's time per run (ms). */
    public record Outcomes(List<AnnotationResult> results, List<AnnotationFailure> failures, long[] runMillis) {}

    private final BatchAnnotator annotator;

    public BatchInference(BatchAnnotator annotator) {
        this.annotator = annotator;
    }

    public Outcomes run(Batch<PreparedRequest> batch) {
        List<AnnotationInput> inputs = new ArrayList<>(batch.size());
        for (PreparedRequest r : batch.elements()) {
            inputs.add(r.toInput());
        }
        Builder out = new Builder();
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
            return retryAlone(batch, inputs);
        }
        long millis = out.ran(start);
        for (int i = 0; i < inputs.size(); i++) {
            out.add(batch.elements().get(i), outcomes.get(i), batch.queueMillis()[i], millis, batch.size());
        }
        return out.build();
    }

    /**
     * One request's result or failure from its outcome, for the continuous loop, which isolates failures itself and
     * hands on each row's outcome alone.
     *
     * @param batchSize the requests admitted together with it
     */
    public Outcomes one(PreparedRequest request, AnnotationOutcome outcome, long queueMillis, long inferenceMillis,
            int batchSize) {
        Builder out = new Builder();
        out.runs.add(inferenceMillis);
        out.add(request, outcome, queueMillis, inferenceMillis, batchSize);
        return out.build();
    }

    private Outcomes retryAlone(Batch<PreparedRequest> batch, List<AnnotationInput> inputs) {
        Builder out = new Builder();
        for (int i = 0; i < inputs.size(); i++) {
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
            out.add(batch.elements().get(i), outcome, batch.queueMillis()[i], out.ran(start), 1);
        }
        return out.build();
    }

    private final class Builder {
        private final List<AnnotationResult> results = new ArrayList<>();
        private final List<AnnotationFailure> failures = new ArrayList<>();
        private final List<Long> runs = new ArrayList<>();

        long ran(long startNanos) {
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
            runs.add(millis);
            return millis;
        }

        void add(PreparedRequest request, AnnotationOutcome outcome, long queueMillis, long inferenceMillis,
                int batchSize) {
            if (outcome.isSuccess()) {
                results.add(toResult(request, outcome.annotation(), queueMillis, inferenceMillis, batchSize));
            } else {
                ErrorCode code = outcome.errorCode() == null ? ErrorCode.INFERENCE_FAILED : outcome.errorCode();
                failures.add(request.request.failure(Failures.INFERENCE, code, outcome.errorMessage())
                        .toRecord(System.currentTimeMillis()));
            }
        }

        Outcomes build() {
            return new Outcomes(results, failures, runs.stream().mapToLong(Long::longValue).toArray());
        }
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
                .setTimings(new Timings(queueMillis, prepared.fetchMillis, inferenceMillis, prepared.preprocessMillis))
                .setBatchSize(batchSize)
                .setMetadata(new HashMap<>(r.metadata))
                .build();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
