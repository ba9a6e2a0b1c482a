package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After {@link HostMalloc#keepFreedMemory()} a freed block of a size ONNX Runtime's activations have stays resident
 * for reuse, until {@link HostMalloc#releaseFreeMemory()}; without it (the control, another fresh JVM) glibc hands
 * the same block back to the system at once.
 * Each case runs {@link FreedBlockResidency} in a fresh JVM, since the setting is process-wide and one-way.
 */
class HostMallocTest {
    @Test
    void aFreedActivationSizedBlockStaysInTheProcessOnlyWhenTuned(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs /proc (Linux)");
        assumeTrue(HostMalloc.keepFreedMemory(), "needs glibc");
        long block = FreedBlockResidency.BLOCK;

        String untuned = probe(tmp, "plain");
        String tuned = probe(tmp, "keep");

        assertThat(value(untuned, "RELEASED=")).as("bytes released by free() with glibc's defaults")
                .isGreaterThan(block * 3 / 4);
        assertThat(value(tuned, "RELEASED=")).as("bytes released by free() after keepFreedMemory()")
                .isLessThan(block / 4);
        assertThat(value(tuned, "TRIMMED=")).as("bytes released by releaseFreeMemory() after that")
                .isGreaterThan(block * 3 / 4);
    }

    @Test
    void keepFreedMemoryIsIdempotent() {
        boolean first = HostMalloc.keepFreedMemory();
        assertThat(HostMalloc.keepFreedMemory()).isEqualTo(first);
    }

    private static long value(String output, String key) {
        return output.lines().filter(l -> l.startsWith(key)).mapToLong(l -> Long.parseLong(l.substring(key.length())))
                .findFirst().orElseThrow(() -> new AssertionError(output));
    }

    private static String probe(Path tmp, String mode) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Xmx64m", FreedBlockResidency.class.getName(), mode);
        pb.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().keySet().removeIf(k -> k.startsWith("MALLOC_"));
        pb.redirectErrorStream(true);
        Path log = tmp.resolve(mode + ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("probe finished").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("TUNED=" + mode.equals("keep"));
        return output;
    }
}
