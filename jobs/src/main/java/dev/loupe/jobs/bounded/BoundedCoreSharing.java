package dev.loupe.jobs.bounded;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import org.apache.flink.configuration.ReadableConfig;

/**
 * How the bounded jobs ({@code loupe caption}, {@code loupe enrich}) share the cores between the model and the rest
 * of the job: their throughput is the model's, so the task threads that read, decode and resize the next images (and
 * the JIT compiler threads) run at nice {@link #DEFAULT_TASK_NICENESS} unless {@code loupe.pipeline.task-niceness} is
 * set, and the kernel gives the model's threads the cores whenever they compute. Where this used to cost full
 * batches (a crowded nice-10 task thread decoding too slowly for a batch's 50 ms), the bounded jobs now wait for a
 * batch while its images keep arriving ({@link BoundedBatching}), so a slow task thread delays a batch but never
 * starts it partial. The streaming job keeps 0: its batches leave on a latency bound.
 */
public final class BoundedCoreSharing {
    /** {@code loupe.pipeline.task-niceness} in the bounded jobs when it is not set. */
    public static final int DEFAULT_TASK_NICENESS = 10;

    private BoundedCoreSharing() {}

    /** {@code pipeline} with the bounded jobs' task niceness, {@code config} being the job's configuration. */
    public static PipelineOptions.Builder apply(PipelineOptions.Builder pipeline, ReadableConfig config) {
        if (config.getOptional(LoupeOptions.TASK_NICENESS).isEmpty()) {
            pipeline.taskNiceness(DEFAULT_TASK_NICENESS);
        }
        return pipeline;
    }
}
