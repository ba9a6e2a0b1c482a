package dev.loupe.jobs.soak;

import dev.loupe.jobs.bounded.ResultStages;
import dev.loupe.schemas.AnnotationResult;

/**
 * Where a soak run's results spent their time and how full their batches were, from the timings each result
 * carries: the mean batch size shows whether the batcher fills batches under backlog, the stage means show the
 * bottleneck (fetching, decoding, waiting for a batch, or the model).
 */
public final class ResultTimings {
    private long results;
    private ResultStages stages = ResultStages.NONE;

    /** Counts one result read from the results topic. */
    public void add(AnnotationResult result) {
        results++;
        stages = stages.plus(result);
    }

    /** The sums so far. */
    public Summary summary() {
        return new Summary(results, stages);
    }

    /** Sums over {@code results} results; {@link ResultStages#line} and {@link ResultStages#mean} read them. */
    public record Summary(long results, ResultStages stages) {
        public double meanBatchSize() {
            return ResultStages.mean(stages.batchSizes(), results);
        }
    }
}
