package dev.loupe.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.ModelOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.model.api.ImageLimits;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Test;

/** The jobs decode images as their options say: fetch size limit, pixel limit, reduced-scale JPEG decoding. */
class ModelRuntimesTest {

    @Test
    void imageLimitsFollowTheJobsOptions() {
        ImageLimits defaults = ModelRuntimes.imageLimits(new Configuration());
        assertThat(defaults.fastJpegDownscale()).isFalse();

        Configuration c = new Configuration();
        c.set(LoupeOptions.FETCH_MAX_BYTES, MemorySize.parse("3mb"));
        c.set(LoupeOptions.IMAGE_MAX_PIXELS, 1234L);
        c.set(ModelOptions.FAST_JPEG_DOWNSCALE, true);
        ImageLimits limits = ModelRuntimes.imageLimits(c);
        assertThat(limits.maxEncodedBytes()).isEqualTo(3L << 20);
        assertThat(limits.maxPixels()).isEqualTo(1234L);
        assertThat(limits.fastJpegDownscale()).isTrue();
    }
}
