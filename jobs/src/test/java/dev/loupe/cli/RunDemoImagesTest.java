package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe run --demo-images DIR} end to end, as a user runs it: embedded Kafka and MiniCluster, the generated
 * tiny demo model, sample images generated into a missing folder, one request each, and one printed line per result
 * as it arrives. The job is then cancelled through Flink's REST API (what Ctrl-C does through the shutdown hook).
 */
@Tag("slow")
class RunDemoImagesTest {

    @Test
    void demoImagesAreAnnotatedAndPrintedAsTheyArrive(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("samples");
        CliRun.Background run = CliRun.start("run", "--demo-images", images.toString(), "--checkpoint-interval", "1s",
                "-D", "loupe.runtime.threads=1", "--batch-size", "2");
        try {
            String out = run.awaitOut(o -> resultLines(o).size() >= 3, Duration.ofMinutes(4));
            List<String> results = resultLines(out);
            assertThat(results).as("stdout:%n%s%nstderr:%n%s", out, run.err()).hasSize(3);
            try (var files = Files.list(images)) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("blue-square.png", "red-ball-on-grass.png", "sun-over-sea.png");
            }
            assertThat(out).contains("sent 3 demo request(s)");
            assertThat(results).anySatisfy(l -> assertThat(l).startsWith("result      red-ball-on-grass.png  vqa (")
                    .contains("What colour is the shape in the picture?"));
            assertThat(results).anySatisfy(l -> assertThat(l).startsWith("result      blue-square.png  caption: \""));
            assertThat(results).anySatisfy(l -> assertThat(l).startsWith("result      sun-over-sea.png  caption: \""));
            assertThat(results).allSatisfy(l -> assertThat(l).contains("score ", "batch ", "inference "));
            assertThat(out).doesNotContain("dead letter");
            assertThat(run.err()).contains("tiny random-weight demo model");

            cancel(out);
            CliRun done = run.join(Duration.ofMinutes(2));
            assertThat(done.status()).as(done.err()).isZero();
            assertThat(done.out()).contains("the streaming job was cancelled");
        } finally {
            if (run.isRunning()) {
                cancel(run.out());
                run.join(Duration.ofMinutes(1));
            }
        }
    }

    @Test
    void aFolderWithoutImagesIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "no images here");
        CliRun run = CliRun.of("run", "--demo-images", dir.toString(), "--model", dir.toString());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--demo-images " + dir + " holds no image");
    }

    private static List<String> resultLines(String out) {
        return Arrays.stream(out.split("\n")).filter(l -> l.startsWith("result ") || l.startsWith("dead letter "))
                .toList();
    }

    /** Cancels the job through the REST API of the web UI the command printed. */
    private static void cancel(String out) throws Exception {
        Matcher job = Pattern.compile("streaming job ([0-9a-f]{32}) is running").matcher(out);
        Matcher web = Pattern.compile("Flink web UI: (http://\\S+)").matcher(out);
        if (!job.find() || !web.find()) {
            return;
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(web.group(1) + "/jobs/" + job.group(1) + "?mode=cancel"))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
    }
}
