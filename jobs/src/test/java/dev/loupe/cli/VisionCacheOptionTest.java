package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.config.ModelOptions;
import dev.loupe.model.api.RuntimeOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** {@code loupe.runtime.vision-cache-bytes} reaches the model runtime of the jobs that load a model. */
class VisionCacheOptionTest {

    @Test
    void defaultsTo64MiBAndTakesSizesAndZero() {
        assertThat(ModelOptions.runtimeOptions(new Configuration()).visionCacheBytes())
                .isEqualTo(RuntimeOptions.DEFAULT_VISION_CACHE_BYTES).isEqualTo(64L << 20);
        Configuration enrich = EnrichCommand.parse("--model", "/m", "--input", "t.csv", "--output", "o.csv", "--image-column", "f",
                "-D", "loupe.runtime.vision-cache-bytes=256mb").toConfiguration();
        assertThat(ModelOptions.runtimeOptions(enrich).visionCacheBytes()).isEqualTo(256L << 20);
        Configuration run = RunCommand.parse("-D", "loupe.runtime.vision-cache-bytes=0").toConfiguration();
        assertThat(ModelOptions.runtimeOptions(run).visionCacheBytes()).isZero();
        Configuration caption = CaptionCommand.parse("--input", "in", "--output", "out",
                "-D", "loupe.runtime.vision-cache-bytes=1048576").toConfiguration();
        assertThat(ModelOptions.runtimeOptions(caption).visionCacheBytes()).isEqualTo(1L << 20);
    }

    @Test
    void aValueThatIsNoSizeIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> RunCommand.parse("-D", "loupe.runtime.vision-cache-bytes=lots").toConfiguration())
                .hasMessageContaining("loupe.runtime.vision-cache-bytes");
    }
}
