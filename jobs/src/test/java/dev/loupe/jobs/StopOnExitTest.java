package dev.loupe.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A command's stop runs to its end before the JVM's shutdown hooks start (ONNX Runtime's own hook releases the
 * environment the model runs on), and the process exits with 128 + the signal's number.
 */
@EnabledOnOs(OS.LINUX)
class StopOnExitTest {

    // SIGTERM only: a process started in the background without job control (as a CI runner may start the build)
    // inherits SIGINT ignored, and the JVM then leaves it ignored, as the shell asked; Ctrl-C takes the same path.
    @ParameterizedTest(name = "SIG{0}")
    @CsvSource({"TERM, 143"})
    void aSignalStopsTheCommandBeforeTheShutdownHooksRun(String signal, int exitCode, @TempDir Path dir)
            throws Exception {
        Path seen = dir.resolve("seen-by-a-shutdown-hook");
        ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                Child.class.getName(), seen.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile());
        child.environment().put("CLASSPATH", System.getProperty("java.class.path")); // a short command line
        Process process = child.start();
        try {
            Path ready = dir.resolve("ready");
            for (int i = 0; i < 300 && !Files.exists(ready); i++) {
                Thread.sleep(100);
            }
            assertThat(ready).as("the child registered its stop").exists();
            new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(exitCode);
            assertThat(Files.readString(seen)).isEqualTo("the stop had ended");
        } finally {
            process.destroyForcibly();
        }
    }

    /** A command's process: a stop that takes a while, and a shutdown hook that records whether it had ended. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path seen = Path.of(args[0]);
            AtomicBoolean ended = new AtomicBoolean();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Files.writeString(seen, ended.get() ? "the stop had ended" : "the stop had not ended");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
            StopOnExit.register("child-stop", () -> {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ended.set(true);
            });
            Files.writeString(seen.resolveSibling("ready"), "ready");
            Thread.sleep(120_000);
        }
    }
}
