package dev.loupe.jobs.bounded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.jobs.caption.CaptionArguments;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** The bounded jobs wait for full batches: from the latest arrival, a second unless --batch-delay says otherwise. */
class BoundedBatchingTest {

    @Test
    void aBoundedJobFillsBatchesUntilItsInputPausesForASecondByDefault() {
        Configuration config = CaptionArguments.ARGUMENTS.parse(java.util.Map.of(),
                new String[] {"--input", "in", "--output", "out"});
        PipelineOptions options = BoundedBatching.apply(PipelineOptions.from(config).toBuilder(), config).build();
        assertThat(options.batchFill()).isEqualTo(DynamicBatcher.Fill.INPUT_PAUSED);
        assertThat(options.batchMaxDelay()).isEqualTo(BoundedBatching.DEFAULT_PAUSE).isEqualTo(Duration.ofSeconds(1));
        // the streaming job's default stays the oldest request's latency bound
        assertThat(PipelineOptions.from(config).batchFill()).isEqualTo(DynamicBatcher.Fill.OLDEST_WAITED);
        assertThat(PipelineOptions.from(config).batchMaxDelay()).isEqualTo(LoupeOptions.BATCH_MAX_DELAY.defaultValue());
    }

    @Test
    void aGivenBatchDelayIsThePauseThatStartsAPartialBatch() {
        Configuration config = CaptionArguments.ARGUMENTS.parse(java.util.Map.of(),
                new String[] {"--input", "in", "--output", "out", "--batch-delay", "200ms"});
        PipelineOptions options = BoundedBatching.apply(PipelineOptions.from(config).toBuilder(), config).build();
        assertThat(options.batchFill()).isEqualTo(DynamicBatcher.Fill.INPUT_PAUSED);
        assertThat(options.batchMaxDelay()).isEqualTo(Duration.ofMillis(200));
    }
}
