package dev.loupe.jobs.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class CheckpointStatsTest {

    @Test
    void readsTheCountsAndTheEndToEndDurationsOfFlinksCheckpointStatistics() throws IOException {
        String body = """
                {"counts":{"restored":0,"total":12,"in_progress":1,"completed":10,"failed":1},
                 "summary":{"state_size":{"min":1,"max":9,"avg":5,"p50":5.0},
                   "end_to_end_duration":{"min":12,"max":690,"avg":48,"p50":27.4,"p90":128.0,"p95":200.0,
                     "p99":611.6,"p999":690.0}},
                 "latest":{},"history":[]}""";
        assertThat(CheckpointStats.parse(body)).isEqualTo(new CheckpointStats(10, 1, 27, 612, 690));
    }

    @Test
    void theCountsSinceAnEarlierReadingLeaveOutWhatItCounted() {
        CheckpointStats start = new CheckpointStats(0, 140, 0, 0, 0);
        CheckpointStats end = new CheckpointStats(190, 141, 35, 600, 700);
        assertThat(end.since(start)).isEqualTo(new CheckpointStats(190, 1, 35, 600, 700));
    }

    @Test
    void anotherResponseIsRefused() {
        assertThatThrownBy(() -> CheckpointStats.parse("{\"errors\":[\"Not found\"]}"))
                .isInstanceOf(IOException.class).hasMessageContaining("not a checkpoint statistics response");
    }
}
