package dev.loupe.jobs.bounded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.jobs.caption.CaptionArguments;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** The bounded jobs give the model the cores first: task threads at nice 10 unless the option is set. */
class BoundedCoreSharingTest {

    private static PipelineOptions bounded(String... args) {
        Configuration config = CaptionArguments.ARGUMENTS.parse(Map.of(), args);
        return BoundedCoreSharing.apply(PipelineOptions.from(config).toBuilder(), config).build();
    }

    @Test
    void aBoundedJobRunsItsTaskThreadsAtNiceTenByDefault() {
        assertThat(bounded("--input", "in", "--output", "out").taskNiceness())
                .isEqualTo(BoundedCoreSharing.DEFAULT_TASK_NICENESS).isEqualTo(10);
        // the streaming job's default leaves the task threads as they are
        assertThat(LoupeOptions.TASK_NICENESS.defaultValue()).isZero();
    }

    @Test
    void aGivenNicenessWinsZeroIncluded() {
        assertThat(bounded("--input", "in", "--output", "out", "-D", "loupe.pipeline.task-niceness=0").taskNiceness())
                .isZero();
        assertThat(bounded("--input", "in", "--output", "out", "-D", "loupe.pipeline.task-niceness=15").taskNiceness())
                .isEqualTo(15);
    }
}
