package dev.loupe.jobs.soak;

import dev.loupe.schemas.AnnotationResult;

/**
 * Where a soak run's results spent their time and how full their batches were, from the timings each result
 * carries: the mean batch size shows whether the batcher fills batches under backlog, the stage means show the
 * bottleneck (fetching, waiting for a batch, or the model).
 */
public final class ResultTimings {
    private long results;
    private long batchSizes;
    private long fetchMillis;
    private long queueMillis;
    private long inferenceMillis;

    /** Counts one result read from the results topic. */
    public void add(AnnotationResult result) {
        results++;
        batchSizes += result.getBatchSize();
        fetchMillis += result.getTimings().getFetchMillis();
        queueMillis += result.getTimings().getQueueMillis();
        inferenceMillis += result.getTimings().getInferenceMillis();
    }

    /** The means so far. */
    public Summary summary() {
        double n = Math.max(1, results);
        return new Summary(results, batchSizes / n, fetchMillis / n, queueMillis / n, inferenceMillis / n);
    }

    /**
     * Means over {@code results}: the inference batch a result was computed in, its fetch time, its wait in the
     * batcher, and its batch's inference time.
     */
    public record Summary(long results, double meanBatchSize, double meanFetchMillis, double meanQueueMillis,
                          double meanInferenceMillis) {}
}
