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
        assertThat(o.scheduling()).isEqualTo(dev.loupe.flink.batch.Scheduling.CONTINUOUS);
        assertThat(PipelineOptions.from(new Configuration()).scheduling())
                .isEqualTo(dev.loupe.flink.batch.Scheduling.CONTINUOUS);
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

    @Test
    void httpFetchOptionsAreReadValidatedAndCarriedToTheFetchStage() {
        PipelineOptions defaults = PipelineOptions.defaults();
        assertThat(defaults.fetchHttp().maxAttempts()).isEqualTo(4);
        assertThat(defaults.fetchHttp().retryBaseDelay()).isEqualTo(Duration.ofMillis(200));
        assertThat(defaults.fetchHttp().retryMaxDelay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(defaults.fetchHttp().maxPerHost()).isEqualTo(4);
        assertThat(defaults.fetchHttp().userAgent()).startsWith("Loupe/").endsWith(" (+image annotation)");

        Configuration conf = Configuration.fromMap(java.util.Map.of("loupe.fetch.max-attempts", "2",
                "loupe.fetch.retry-base-delay", "50 ms", "loupe.fetch.retry-max-delay", "1 s",
                "loupe.fetch.max-per-host", "3", "loupe.fetch.user-agent", "Bot/1"));
        PipelineOptions o = PipelineOptions.from(conf);
        assertThat(o.fetch().http()).isEqualTo(new dev.loupe.flink.fetch.HttpFetchOptions(2, Duration.ofMillis(50),
                Duration.ofSeconds(1), 3, "Bot/1"));
        assertThat(o.toBuilder().build().fetchHttp()).isEqualTo(o.fetchHttp());

        assertThatThrownBy(() -> PipelineOptions.builder().fetchMaxAttempts(0).build())
                .hasMessageContaining("loupe.fetch.max-attempts");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchRetryBaseDelay(Duration.ofMillis(-1)).build())
                .hasMessageContaining("loupe.fetch.retry-base-delay");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchRetryMaxDelay(Duration.ofMillis(10)).build())
                .hasMessageContaining("loupe.fetch.retry-max-delay");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchMaxPerHost(0).build())
                .hasMessageContaining("loupe.fetch.max-per-host");
        assertThatThrownBy(() -> PipelineOptions.builder().fetchUserAgent(" ").build())
                .hasMessageContaining("loupe.fetch.user-agent");
        assertThat(LoupeOptions.FETCH_MAX_PER_HOST.description().toString()).isNotBlank();
    }
}
