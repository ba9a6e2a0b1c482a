package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The streaming job against a local web server that fails on purpose: a first 503 (with Retry-After), a first 429
 * and a first connection reset are retried and end as one result each; a server that stays down ends as one
 * FETCH_FAILED dead letter. Read back read_committed: every id exactly once.
 */
@Tag("slow")
class FetchRetryStreamingTest {

    private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    /** Answers the first request with {@code firstStatus} (Retry-After: 1), or resets it when 0; then the image. */
    private static void failFirst(HttpServer server, String path, int firstStatus, byte[] image, AtomicInteger hits) {
        server.createContext(path, ex -> {
            if (hits.getAndIncrement() > 0) {
                respond(ex, 200, image);
            } else if (firstStatus == 0) {
                ex.close();   // no response at all: the client sees the connection closed
            } else {
                ex.getResponseHeaders().add("Retry-After", "1");
                respond(ex, firstStatus, new byte[] {1});
            }
        });
    }

    @Test
    void transientFaultsEndAsResultsAndADownServerAsOneDeadLetter() throws Exception {
        byte[] png = Requests.image(24, 18, "png", 9);
        AtomicInteger unavailable = new AtomicInteger();
        AtomicInteger tooMany = new AtomicInteger();
        AtomicInteger reset = new AtomicInteger();
        AtomicInteger down = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        ExecutorService executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        failFirst(server, "/unavailable.png", 503, png, unavailable);
        failFirst(server, "/too-many.png", 429, png, tooMany);
        failFirst(server, "/reset.png", 0, png, reset);
        server.createContext("/down.png", ex -> {
            down.incrementAndGet();
            respond(ex, 503, new byte[] {1});
        });
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        try (RunningJob job = new RunningJob()) {
            job.conf.set(LoupeOptions.FETCH_ALLOWED_HOSTS, List.of("127.0.0.1"));   // the test server is on loopback
            job.conf.set(LoupeOptions.FETCH_TIMEOUT, Duration.ofSeconds(8));
            job.conf.set(LoupeOptions.FETCH_MAX_ATTEMPTS, 3);
            job.conf.set(LoupeOptions.FETCH_RETRY_BASE_DELAY, Duration.ofMillis(20));
            job.start(EchoAnnotatorFactory.fast(job.name));

            job.topics.sendRequests(job.settings().requestsTopic(), List.of(
                    Requests.file("unavailable", base + "/unavailable.png"),
                    Requests.file("too-many", base + "/too-many.png"),
                    Requests.file("reset", base + "/reset.png"),
                    Requests.file("down", base + "/down.png")));

            List<AnnotationResult> results = job.topics.readCommitted(
                    List.of(job.settings().resultsTopic()), 3, Topics::result);
            List<AnnotationFailure> failures = job.topics.readCommitted(
                    List.of(job.settings().deadLetterTopic()), 1, Topics::failure);

            assertThat(results).extracting(AnnotationResult::getId)
                    .containsExactlyInAnyOrder("unavailable", "too-many", "reset");
            assertThat(failures).singleElement().satisfies(f -> {
                assertThat(f.getId()).isEqualTo("down");
                assertThat(f.getErrorCode()).isEqualTo("FETCH_FAILED");
                assertThat(f.getMessage()).contains("HTTP 503");
            });
            assertThat(unavailable).hasValue(2);
            assertThat(tooMany).hasValue(2);
            assertThat(reset).hasValue(2);
            assertThat(down).hasValue(3);
        } finally {
            server.stop(0);
            executor.shutdownNow();
        }
    }
}
