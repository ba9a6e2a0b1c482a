package dev.loupe.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Test;

class PipelineOptionsTest {

    @Test
    void defaults() {
        PipelineOptions o = PipelineOptions.defaults();
        assertThat(o.batchMaxSize()).isEqualTo(8);
        assertThat(o.batchMaxDelay()).isEqualTo(Duration.ofMillis(50));
        assertThat(o.fileRoots()).isEmpty();
        assertThat(o.fetchMaxBytes()).isEqualTo(20L * 1024 * 1024);
    }

    @Test
    void readsAConfiguration() {
        Configuration conf = new Configuration();
        conf.set(LoupeOptions.FETCH_FILE_ROOTS, List.of("/data/images", " /mnt/x "));
        conf.set(LoupeOptions.BATCH_MAX_SIZE, 4);
        conf.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(5));
        conf.set(LoupeOptions.FETCH_MAX_BYTES, MemorySize.parse("1kb"));
        PipelineOptions o = PipelineOptions.from(conf);
        assertThat(o.fileRootPaths()).containsExactly(Path.of("/data/images"), Path.of("/mnt/x"));
        assertThat(o.batchMaxSize()).isEqualTo(4);
        assertThat(o.batchMaxDelay()).isEqualTo(Duration.ofMillis(5));
        assertThat(o.fetchMaxBytes()).isEqualTo(1024);

        Configuration fromStrings = Configuration.fromMap(java.util.Map.of("batch.max-size", "2", "batch.max-delay", "10 ms"));
        assertThat(PipelineOptions.from(fromStrings).batchMaxSize()).isEqualTo(2);
        assertThat(PipelineOptions.from(fromStrings).batchMaxDelay()).isEqualTo(Duration.ofMillis(10));
    }

    @Test
    void rejectsInvalidValuesNamingTheOption() {
        Configuration conf = new Configuration();
        conf.set(LoupeOptions.BATCH_MAX_SIZE, 0);
        assertThatThrownBy(() -> PipelineOptions.from(conf)).hasMessageContaining("batch.max-size");
        Configuration roots = new Configuration();
        roots.set(LoupeOptions.FETCH_FILE_ROOTS, List.of("relative/dir"));
        assertThatThrownBy(() -> PipelineOptions.from(roots)).hasMessageContaining("loupe.fetch.file-roots");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchConcurrency(0).fetchTimeout(Duration.ofSeconds(1)).fetchMaxBytes(10)
                .build())
                .hasMessageContaining("loupe.fetch.concurrency");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchConcurrency(1).fetchTimeout(Duration.ZERO).fetchMaxBytes(10)
                .build())
                .hasMessageContaining("loupe.fetch.timeout");
        assertThat(LoupeOptions.BATCH_MAX_SIZE.description().toString()).isNotBlank();
    }
}
