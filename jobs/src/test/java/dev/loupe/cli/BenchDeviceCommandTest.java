package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.tools.GpuMemoryProbe;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe bench --device cuda|cuda:N} on a build without the CUDA provider: the clear error of every command;
 * and the GPU figures' JSON form (the figures themselves need a GPU: docs/bench/gpu-check.sh).
 */
class BenchDeviceCommandTest {
    @TempDir
    Path tmp;

    @Test
    void cudaOnTheCpuBuildFailsWithTheBuildHint() {
        Assumptions.assumeFalse(OrtEnvironment.getAvailableProviders().stream()
                .anyMatch(p -> p.name().equals("CUDA")), "this build has the CUDA provider");
        for (String device : new String[] {"cuda", "cuda:1"}) {
            CliRun r = CliRun.of(BenchCommandTest.concat(new String[] {"bench", "--random-checkpoint", "--device",
                    device, "--batch-sizes", "1", "--max-new-tokens", "2", "--warmup", "0", "--iterations", "1",
                    "--work-dir", tmp.resolve(device.replace(':', '-')).toString()}, BenchCommandTest.TINY));
            assertThat(r.status()).as(r.err()).isNotZero();
            assertThat(r.err()).contains("CUDA was requested but this build has no CUDA execution provider")
                    .contains("mvn -Pgpu");
        }
    }

    @Test
    void anUnknownDeviceIsAUsageErrorNamingTheOption() {
        CliRun r = CliRun.of("bench", "--random-checkpoint", "--device", "tpu");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("tpu");
    }

    @Test
    void gpuFiguresInJson() {
        long mib = 1024L * 1024L;
        ObjectNode o = new ObjectMapper().createObjectNode();
        BenchCommand.putGpu(o, new BenchCommand.GpuMemory(new GpuMemoryProbe.Reading(1200 * mib, 1300 * mib,
                5000 * mib, 5100 * mib, 81559 * mib, 12), null));
        assertThat(o.path("source").asText()).isEqualTo("nvidia-smi");
        assertThat(o.path("process_peak_bytes").asLong()).isEqualTo(1300 * mib);
        assertThat(o.path("device_total_bytes").asLong()).isEqualTo(81559 * mib);
        ObjectNode none = new ObjectMapper().createObjectNode();
        BenchCommand.putGpu(none, new BenchCommand.GpuMemory(null, "nvidia-smi: not found"));
        assertThat(none.path("unavailable").asText()).isEqualTo("nvidia-smi: not found");
        assertThat(none.has("process_peak_bytes")).isFalse();
    }
}
