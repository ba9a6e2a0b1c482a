package dev.loupe.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code bin/loupe} launcher's own logic: which JVM options it passes and which class-data archive a command
 * writes and maps. The launcher is copied into a scratch tree with an empty jar, and a {@code java} script that
 * records its arguments (and writes the archive it is asked to, as the JVM does at exit) comes first on the PATH, so
 * the shell logic is checked without starting a JVM or building.
 */
class LauncherTest {
    private static final Path ROOT = Path.of(System.getProperty("loupe.root",
            Path.of(System.getProperty("loupe.fixtures", "../fixtures")).getParent().toString())).toAbsolutePath();

    @TempDir
    Path tree;
    private Path cache;
    private Path javaLog;

    @BeforeEach
    void scratchTree() throws IOException {
        Files.createDirectories(tree.resolve("bin"));
        Files.copy(ROOT.resolve("bin/loupe"), tree.resolve("bin/loupe"));
        Files.createDirectories(tree.resolve("jobs/target/lib"));
        Files.writeString(tree.resolve("jobs/target/loupe-jobs-0.1.0-SNAPSHOT.jar"), "");
        Path java = tree.resolve("jdk/bin/java");
        Files.createDirectories(java.getParent());
        Files.writeString(java, """
                #!/bin/sh
                for a in "$@"; do
                  printf '%s\\n' "$a" >> "$FAKE_JAVA_LOG"
                  case "$a" in -XX:ArchiveClassesAtExit=*) printf 'archive' > "${a#*=}" ;; esac
                done
                printf -- '--\\n' >> "$FAKE_JAVA_LOG"
                """);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        cache = tree.resolve("cache");
        javaLog = tree.resolve("java.log");
    }

    /** Runs the launcher with {@code env} added; returns the arguments the (recording) java got. */
    private List<String> loupe(Map<String, String> env, String... args) throws Exception {
        Files.deleteIfExists(javaLog);
        List<String> command = new ArrayList<>(List.of("bash", tree.resolve("bin/loupe").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PATH", tree.resolve("jdk/bin") + ":" + System.getenv("PATH"));
        pb.environment().put("LOUPE_CACHE", cache.toString());
        pb.environment().put("FAKE_JAVA_LOG", javaLog.toString());
        pb.environment().remove("LOUPE_JAVA_OPTS");
        pb.environment().remove("LOUPE_JVM_MEMORY_OPTS");
        pb.environment().remove("LOUPE_JVM_JIT_OPTS");
        pb.environment().putAll(env);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        return Files.readAllLines(javaLog);
    }

    private List<String> archives() throws IOException {
        try (Stream<Path> files = Files.list(cache.resolve("cds"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aNestedSubcommandWritesAndMapsAnArchiveOfItsOwn() throws Exception {
        List<String> first = loupe(Map.of(), "bench", "soak", "--requests", "8");
        assertThat(first).anyMatch(a -> a.matches("-XX:ArchiveClassesAtExit=.*/cds/bench-soak-\\d+\\.jsa\\.\\d+\\.tmp"));
        loupe(Map.of(), "bench", "--iterations", "1");
        assertThat(archives()).hasSize(2).anyMatch(a -> a.matches("bench-soak-\\d+\\.jsa"))
                .anyMatch(a -> a.matches("bench-\\d+\\.jsa"));

        assertThat(loupe(Map.of(), "bench", "soak", "--requests", "8"))
                .anyMatch(a -> a.matches("-XX:SharedArchiveFile=.*/cds/bench-soak-\\d+\\.jsa"))
                .noneMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit"));
        assertThat(loupe(Map.of(), "bench", "--iterations", "1"))
                .anyMatch(a -> a.matches("-XX:SharedArchiveFile=.*/cds/bench-\\d+\\.jsa"));
    }

    @Test
    void aJavaWithoutTheUsualLibraryLayoutStillStarts() throws Exception {
        // the scratch JDK has no lib/server/libjvm.so: the archive's checksum leaves it out instead of failing
        assertThat(loupe(Map.of(), "caption", "--model", "m")).contains("dev.loupe.cli.Loupe", "caption")
                .containsSubsequence("--add-modules", "jdk.incubator.vector"); // the vector resampling passes
        assertThat(archives()).singleElement().asString().matches("caption-\\d+\\.jsa");
    }
}
