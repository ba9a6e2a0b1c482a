package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe caption} over a manifest of http URLs served by a local server that fails on purpose: a transient
 * 503 (with Retry-After) is retried and ends as a result row; a server that stays down ends as one error row.
 */
@Tag("slow")
class CaptionFromTheWebTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    @Test
    void aTransient503EndsAsAResultRowNotAnErrorRow() throws Exception {
        byte[] png = Requests.image(32, 24, "png", 5);
        AtomicInteger flakyHits = new AtomicInteger();
        AtomicInteger downHits = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        ExecutorService executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        server.createContext("/flaky.png", ex -> {
            if (flakyHits.getAndIncrement() == 0) {
                ex.getResponseHeaders().add("Retry-After", "1");
                respond(ex, 503, new byte[] {1});
            } else {
                respond(ex, 200, png);
            }
        });
        server.createContext("/down.png", ex -> {
            downHits.incrementAndGet();
            respond(ex, 503, new byte[] {1});
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            Path manifest = tmp.resolve("web.csv");
            Files.writeString(manifest, "image\n" + base + "/flaky.png\n" + base + "/down.png\n");
            Path out = tmp.resolve("out");

            Configuration c = new Configuration();
            c.set(CaptionOptions.INPUTS, List.of(manifest.toString()));
            c.set(CaptionOptions.OUTPUT, out.toString());
            c.set(LoupeOptions.FETCH_ALLOWED_HOSTS, List.of("127.0.0.1"));   // the test server is on loopback
            c.set(LoupeOptions.FETCH_TIMEOUT, Duration.ofSeconds(8));
            c.set(LoupeOptions.FETCH_MAX_ATTEMPTS, 3);
            c.set(LoupeOptions.FETCH_RETRY_BASE_DELAY, Duration.ofMillis(20));
            c.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(20));
            c.set(JobOptions.PARALLELISM, 1);
            c.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
            c.set(JobOptions.RESTART_ATTEMPTS, 0);
            BoundedJobRunner quiet = new BoundedJobRunner(new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8), false, Duration.ofMillis(500), "images");

            CaptionJob.Result result = CaptionJob.run(c, EchoAnnotatorFactory.fast("caption-web"), quiet,
                    BoundedJobRunner::localEnvironment);

            assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
            Map<String, JsonNode> rows = new LinkedHashMap<>();
            for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
                JsonNode row = JSON.readTree(line);
                assertThat(rows.put(row.get("image").asText(), row)).as("one row per image").isNull();
            }
            assertThat(rows).hasSize(2);
            JsonNode flaky = rows.get(base + "/flaky.png");
            assertThat(flaky.has("error")).as(flaky.toString()).isFalse();
            assertThat(flaky.get("text").asText()).startsWith("echo: ");
            JsonNode down = rows.get(base + "/down.png");
            assertThat(down.get("error").get("code").asText()).isEqualTo("FETCH_FAILED");
            assertThat(down.get("error").get("message").asText()).contains("HTTP 503", "after 3 attempts");
            assertThat(flakyHits).hasValue(2);
            assertThat(downHits).hasValue(3);
            assertThat(result.summary().progress().ok()).isEqualTo(1);
            assertThat(result.summary().progress().failuresByCode()).containsEntry("FETCH_FAILED", 1L);
        } finally {
            server.stop(0);
            executor.shutdownNow();
        }
    }
}
