package dev.loupe.model.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Reading nvidia-smi's memory queries, and a probe where nvidia-smi is missing (this build machine) or present. */
class GpuMemoryProbeTest {

    @Test
    void readsTheDeviceQuery() {
        assertThat(GpuMemoryProbe.parseDevice("5120, 81559\n")).containsExactly(5120, 81559);
        assertThatThrownBy(() -> GpuMemoryProbe.parseDevice("No devices were found\n"))
                .hasMessageContaining("No devices were found");
    }

    @Test
    void findsThisProcessAmongTheComputeApps() {
        String csv = "4242, 1024\n17, 2300\n";
        assertThat(GpuMemoryProbe.parseProcess(csv, 17)).isEqualTo(2300);
        assertThat(GpuMemoryProbe.parseProcess(csv, 99)).isEqualTo(-1);
        assertThat(GpuMemoryProbe.parseProcess("", 17)).isEqualTo(-1);
        assertThatThrownBy(() -> GpuMemoryProbe.parseProcess("[N/A], 12\n", 17)).hasMessageContaining("[N/A]");
    }

    @Test
    void describesAReading() {
        long mib = 1024L * 1024L;
        GpuMemoryProbe.Reading r = new GpuMemoryProbe.Reading(1200 * mib, 1300 * mib, 5000 * mib, 5100 * mib,
                81559 * mib, 12);
        assertThat(r.describe(0)).isEqualTo("this process: peak 1300 MiB, at end 1200 MiB; device 0: 5000 of 81559 "
                + "MiB used at end, peak 5100 MiB (nvidia-smi, 12 samples)");
        assertThat(new GpuMemoryProbe.Reading(-1, -1, 10 * mib, 10 * mib, 20 * mib, 1).describe(1))
                .startsWith("this process: not visible to nvidia-smi; device 1: 10 of 20 MiB");
    }

    @Test
    void saysWhyThereAreNoFiguresOrSamples() {
        try (GpuMemoryProbe probe = GpuMemoryProbe.start(0, Duration.ofMillis(20))) {
            if (probe.unavailable() != null) {
                assertThat(probe.unavailable()).startsWith("nvidia-smi: ");
            } else {
                assertThat(probe.read().samples()).isPositive();
                assertThat(probe.read().deviceTotalBytes()).isPositive();
            }
        }
    }
}
