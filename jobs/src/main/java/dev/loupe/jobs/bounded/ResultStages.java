package dev.loupe.jobs.bounded;

import dev.loupe.schemas.AnnotationResult;
import java.util.Map;

/**
 * Sums over results of the batch size each was computed in and the time it spent reading/fetching its image,
 * decoding and resizing it, waiting for a batch and in its batch's inference (the timings every result carries): a
 * bounded job's come from the accumulators {@link OutcomeCounter} keeps, a soak run adds the results it reads
 * ({@link #plus}). Divided by the results, they say how full the batches were under the backlog and which stage
 * bounds the run.
 */
public record ResultStages(long batchSizes, long fetchMillis, long preprocessMillis, long queueMillis,
                           long inferenceMillis) {
    /** Accumulator name prefix of the sums: {@code loupe.sum.batch-size} and so on. */
    public static final String SUM_ACCUMULATOR_PREFIX = "loupe.sum.";
    static final String BATCH_SIZE = "batch-size";
    static final String FETCH_MILLIS = "fetch-ms";
    static final String PREPROCESS_MILLIS = "preprocess-ms";
    static final String QUEUE_MILLIS = "batch-wait-ms";
    static final String INFERENCE_MILLIS = "inference-ms";

    public static final ResultStages NONE = new ResultStages(0, 0, 0, 0, 0);

    /** What one result adds to the sums. */
    static Map<String, Long> amounts(AnnotationResult result) {
        return Map.of(BATCH_SIZE, (long) result.getBatchSize(),
                FETCH_MILLIS, result.getTimings().getFetchMillis(),
                PREPROCESS_MILLIS, result.getTimings().getPreprocessMillis(),
                QUEUE_MILLIS, result.getTimings().getQueueMillis(),
                INFERENCE_MILLIS, result.getTimings().getInferenceMillis());
    }

    /** The sums in a job's accumulators. */
    static ResultStages fromAccumulators(Map<String, Object> accumulators) {
        return new ResultStages(sum(accumulators, BATCH_SIZE), sum(accumulators, FETCH_MILLIS),
                sum(accumulators, PREPROCESS_MILLIS), sum(accumulators, QUEUE_MILLIS), sum(accumulators, INFERENCE_MILLIS));
    }

    /** These sums with {@code result}'s added. */
    public ResultStages plus(AnnotationResult result) {
        var t = result.getTimings();
        return new ResultStages(batchSizes + result.getBatchSize(), fetchMillis + t.getFetchMillis(),
                preprocessMillis + t.getPreprocessMillis(), queueMillis + t.getQueueMillis(),
                inferenceMillis + t.getInferenceMillis());
    }

    /** The mean over {@code results} of a sum (0 when there are none). */
    public static double mean(long sum, long results) {
        return results <= 0 ? 0 : (double) sum / results;
    }

    private static long sum(Map<String, Object> accumulators, String name) {
        return accumulators.get(SUM_ACCUMULATOR_PREFIX + name) instanceof Number n ? n.longValue() : 0;
    }

    /**
     * The summary line over {@code results} results: mean batch size and mean milliseconds per stage; empty when
     * there are none.
     */
    public String line(long results) {
        if (results <= 0 || batchSizes <= 0) {
            return "";
        }
        double n = results;
        return String.format(java.util.Locale.ROOT, "mean batch %.1f; per result: read/fetch %.1f ms, decode+resize "
                        + "%.1f ms, waiting for a batch %.1f ms, inference %.1f ms (its batch's)", batchSizes / n,
                fetchMillis / n, preprocessMillis / n, queueMillis / n, inferenceMillis / n);
    }
}
