package dev.loupe.embedded;

import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a Flink job from outside and waits (bounded) until it has ended, so its operators have closed — the inference
 * operator's close waits for the model's run in progress — before the caller goes on (to stop a broker, or to exit).
 */
public final class JobStop {
    private static final Logger LOG = LoggerFactory.getLogger(JobStop.class);

    private JobStop() {}

    /** Cancels {@code job} unless it has ended and waits for its end; false (logged) where it did not stop cleanly. */
    public static boolean cancelAndAwait(JobClient job) {
        try {
            if (!job.getJobStatus().get(30, TimeUnit.SECONDS).isGloballyTerminalState()) {
                job.cancel().get(60, TimeUnit.SECONDS);
            }
            job.getJobExecutionResult().handle((r, e) -> null).get(60, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            LOG.warn("the Flink job did not stop cleanly: {}", e.toString());
            return false;
        }
    }
}
