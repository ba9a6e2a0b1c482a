package dev.loupe.jobs.bounded;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.batch.DynamicBatcher;
import java.time.Duration;
import org.apache.flink.configuration.ReadableConfig;

/**
 * How the bounded jobs ({@code loupe caption}, {@code loupe enrich}) batch: their inputs are all there, so a batch's
 * size matters and a request's wait does not. An idle model waits for a partial batch to fill while requests keep
 * arriving ({@link DynamicBatcher.Fill#INPUT_PAUSED}) and starts it once none arrived for {@code batch.max-delay},
 * which is {@link #DEFAULT_PAUSE} here unless set: long enough that images decoded one after another on a busy
 * machine (a cold JIT at the start, a collection, a task thread that other processes crowd out) still count as a
 * backlog, so every batch but the last is full; short enough that an input that really stalls (a slow remote
 * image) costs the model at most that per batch.
 */
public final class BoundedBatching {
    /** {@code batch.max-delay} in the bounded jobs when it is not set: the pause that starts a partial batch. */
    public static final Duration DEFAULT_PAUSE = Duration.ofSeconds(1);

    private BoundedBatching() {}

    /** {@code pipeline} batching as a bounded job does, {@code config} being the job's configuration. */
    public static PipelineOptions.Builder apply(PipelineOptions.Builder pipeline, ReadableConfig config) {
        pipeline.batchFill(DynamicBatcher.Fill.INPUT_PAUSED);
        if (config.getOptional(LoupeOptions.BATCH_MAX_DELAY).isEmpty()) {
            pipeline.batchMaxDelay(DEFAULT_PAUSE);
        }
        return pipeline;
    }
}
