package dev.loupe.flink.fetch;

import static dev.loupe.flink.fetch.FlakyServer.IMAGE;
import static dev.loupe.flink.fetch.FlakyServer.ok;
import static dev.loupe.flink.fetch.FlakyServer.reset;
import static dev.loupe.flink.fetch.FlakyServer.slow;
import static dev.loupe.flink.fetch.FlakyServer.status;
import static dev.loupe.flink.fetch.FlakyServer.trickle;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Retries, per-host limits and the User-Agent against a local server that fails on purpose. */
class RetryingFetchTest {
    private FlakyServer server;
    private final AtomicInteger retries = new AtomicInteger();
    private final List<Integer> failedStatuses = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final FetchEvents events = new FetchEvents() {
        @Override
        public void retried() {
            retries.incrementAndGet();
        }

        @Override
        public void failedWithStatus(int httpStatus) {
            failedStatuses.add(httpStatus);
        }
    };

    @BeforeEach
    void start() throws Exception {
        server = new FlakyServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** Small base delays keep the tests fast; the test server is on loopback, admitted explicitly. */
    private ImageFetcher fetcher(Duration timeout, int maxAttempts, int maxPerHost) {
        return fetcher(timeout, new HttpFetchOptions(maxAttempts, Duration.ofMillis(20), Duration.ofSeconds(5), maxPerHost,
                HttpFetchOptions.DEFAULT_USER_AGENT));
    }

    private ImageFetcher fetcher(Duration timeout, HttpFetchOptions options) {
        return new ImageFetcher(List.of(), 1 << 20, timeout, new AddressPolicy(List.of("127.0.0.1")),
                ImageFetcher.DEFAULT_MAX_REDIRECTS, options, events);
    }

    private static AnnotationException failure(ThrowingCallable call, ErrorCode code) {
        Throwable[] thrown = new Throwable[1];
        assertThatThrownBy(call).isInstanceOfSatisfying(AnnotationException.class, e -> {
            assertThat(e.code()).as(e.getMessage()).isEqualTo(code);
            thrown[0] = e;
        });
        return (AnnotationException) thrown[0];
    }

    @Test
    void a503WithRetryAfterIsRetriedAfterTheServersWait() throws Exception {
        server.on("/a.jpg", status(503, "1"), ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            long start = System.nanoTime();
            assertThat(fetcher.fetch(server.url("/a.jpg"))).containsExactly(IMAGE);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(950));
        }
        assertThat(server.hits("/a.jpg")).isEqualTo(2);
        assertThat(retries).hasValue(1);
        assertThat(failedStatuses).isEmpty();
    }

    @Test
    void a429IsRetried() throws Exception {
        server.on("/b.jpg", status(429, null), ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            assertThat(fetcher.fetch(server.url("/b.jpg"))).containsExactly(IMAGE);
        }
        assertThat(server.hits("/b.jpg")).isEqualTo(2);
        assertThat(retries).hasValue(1);
    }

    @Test
    void aConnectionResetIsRetried() throws Exception {
        server.on("/c.jpg", reset(), ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            assertThat(fetcher.fetch(server.url("/c.jpg"))).containsExactly(IMAGE);
        }
        assertThat(server.hits("/c.jpg")).isEqualTo(2);
        assertThat(retries).hasValue(1);
    }

    @Test
    void everyTransientStatusIsRetried() throws Exception {
        for (int code : List.of(408, 425, 429, 500, 502, 503, 504)) {
            server.on("/t" + code, status(code, null), ok());
        }
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 2, 4)) {
            for (int code : List.of(408, 425, 429, 500, 502, 503, 504)) {
                assertThat(fetcher.fetch(server.url("/t" + code))).as("after HTTP " + code).containsExactly(IMAGE);
                assertThat(server.hits("/t" + code)).isEqualTo(2);
            }
        }
    }

    @Test
    void always503EndsAsOneFetchFailedWithTheStatusAfterMaxAttempts() {
        server.on("/down.jpg", status(503, null));
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            long start = System.nanoTime();
            AnnotationException e = failure(() -> fetcher.fetch(server.url("/down.jpg")), ErrorCode.FETCH_FAILED);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(e.getMessage()).contains("HTTP 503", "after 4 attempts", HttpFetchOptions.MAX_ATTEMPTS_KEY);
        }
        assertThat(server.hits("/down.jpg")).isEqualTo(4);
        assertThat(retries).hasValue(3);
        assertThat(failedStatuses).containsExactly(503);
    }

    @Test
    void whenTheNextWaitWouldPassTheTimeoutTheFetchFailsAtOnce() {
        // Retry-After 1 s, timeout 1.5 s: the second wait would pass the deadline, so the fetch ends after two tries
        server.on("/busy.jpg", status(503, "1"));
        try (ImageFetcher fetcher = fetcher(Duration.ofMillis(1500), 100, 4)) {
            long start = System.nanoTime();
            AnnotationException e = failure(() -> fetcher.fetch(server.url("/busy.jpg")), ErrorCode.FETCH_FAILED);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(1500));
            assertThat(e.getMessage()).contains("HTTP 503", "loupe.fetch.timeout");
        }
        assertThat(server.hits("/busy.jpg")).isEqualTo(2);
    }

    @Test
    void aRetryAfterLongerThanTheMaxDelayFailsAtOnce() {
        server.on("/later.jpg", status(429, "60"), ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            AnnotationException e = failure(() -> fetcher.fetch(server.url("/later.jpg")), ErrorCode.FETCH_FAILED);
            assertThat(e.getMessage()).contains("HTTP 429", "60 s", HttpFetchOptions.RETRY_MAX_DELAY_KEY);
        }
        assertThat(server.hits("/later.jpg")).isEqualTo(1);
    }

    @Test
    void otherClientErrorsFailAtOnceWithTheStatus() {
        server.on("/forbidden.jpg", status(403, null), ok());
        server.on("/gone.jpg", status(404, null), ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            assertThat(failure(() -> fetcher.fetch(server.url("/forbidden.jpg")), ErrorCode.FETCH_FAILED).getMessage())
                    .contains("HTTP 403");
            failure(() -> fetcher.fetch(server.url("/gone.jpg")), ErrorCode.IMAGE_NOT_FOUND);
        }
        assertThat(server.hits("/forbidden.jpg")).isEqualTo(1);
        assertThat(server.hits("/gone.jpg")).isEqualTo(1);
        assertThat(retries).hasValue(0);
        assertThat(failedStatuses).containsExactly(403, 404);
    }

    @Test
    void aTricklePastTheTimeoutIsAFetchTimeout() {
        server.on("/trickle.jpg", trickle(5000));
        try (ImageFetcher fetcher = fetcher(Duration.ofMillis(800), 4, 4)) {
            long start = System.nanoTime();
            failure(() -> fetcher.fetch(server.url("/trickle.jpg")), ErrorCode.FETCH_TIMEOUT);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2000));
        }
        assertThat(server.hits("/trickle.jpg")).isEqualTo(1);
    }

    @Test
    void aBurstForOneHostNeverHasMoreThanMaxPerHostInFlight() throws Exception {
        server.on("/burst.jpg", slow(150));
        ExecutorService callers = Executors.newFixedThreadPool(10);
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(10), 4, 2)) {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                results.add(callers.submit(() -> fetcher.fetch(server.url("/burst.jpg"))));
            }
            for (Future<byte[]> result : results) {
                assertThat(result.get(20, TimeUnit.SECONDS)).containsExactly(IMAGE);
            }
        } finally {
            callers.shutdownNow();
        }
        assertThat(server.hits("/burst.jpg")).isEqualTo(10);
        assertThat(server.maxInFlight()).isBetween(1, 2);
    }

    @Test
    void waitingForAHostSlotEndsAtTheDeadline() throws Exception {
        HostLimiter limiter = new HostLimiter(1);
        assertThat(limiter.acquire("a.example", System.nanoTime())).isTrue();
        long start = System.nanoTime();
        assertThat(limiter.acquire("a.example", start + TimeUnit.MILLISECONDS.toNanos(100))).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(90));
        assertThat(limiter.acquire("b.example", System.nanoTime())).as("another host").isTrue();
        limiter.release("a.example");
        assertThat(limiter.acquire("a.example", System.nanoTime())).isTrue();
    }

    @Test
    void sendsLoupesUserAgentAndReusesConnections() throws Exception {
        server.on("/ua.jpg", ok());
        try (ImageFetcher fetcher = fetcher(Duration.ofSeconds(5), 4, 4)) {
            for (int i = 0; i < 3; i++) {
                assertThat(fetcher.fetch(server.url("/ua.jpg"))).containsExactly(IMAGE);
            }
        }
        assertThat(server.userAgents).hasSize(3).allSatisfy(ua -> assertThat(ua).matches("Loupe/\\S+ \\(\\+image annotation\\)"));
        assertThat(server.clientPorts).as("one pooled connection").containsOnly(server.clientPorts.get(0));

        try (ImageFetcher custom = fetcher(Duration.ofSeconds(5), new HttpFetchOptions(1, Duration.ZERO, Duration.ZERO, 1,
                "MyCrawler/1.0 (+https://example.org/bot)"))) {
            custom.fetch(server.url("/ua.jpg"));
        }
        assertThat(server.userAgents).last().isEqualTo("MyCrawler/1.0 (+https://example.org/bot)");
    }

    @Test
    void backoffHasFullJitterUnderAnExponentialCeiling() {
        RetryPolicy policy = new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(1000));
        for (int i = 0; i < 200; i++) {
            assertThat(policy.backoff(1)).isBetween(Duration.ZERO, Duration.ofMillis(100));
            assertThat(policy.backoff(3)).isBetween(Duration.ZERO, Duration.ofMillis(400));
            assertThat(policy.backoff(60)).isBetween(Duration.ZERO, Duration.ofMillis(1000));
        }
        assertThat(RetryPolicy.isTransient(503)).isTrue();
        assertThat(RetryPolicy.isTransient(403)).isFalse();
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        String inThirty = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(30).atOffset(ZoneOffset.UTC));
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.minusSeconds(30).atOffset(ZoneOffset.UTC));
        assertThat(RetryPolicy.retryAfter("2", now)).contains(Duration.ofSeconds(2));
        assertThat(RetryPolicy.retryAfter(inThirty, now)).contains(Duration.ofSeconds(30));
        assertThat(RetryPolicy.retryAfter(past, now)).contains(Duration.ZERO);
        assertThat(RetryPolicy.retryAfter("soon", now)).isEmpty();
        assertThat(RetryPolicy.retryAfter(null, now)).isEmpty();
    }

    @Test
    void optionsAreValidatedNamingTheirKeys() {
        assertThatThrownBy(() -> new HttpFetchOptions(0, Duration.ZERO, Duration.ZERO, 1, "x"))
                .hasMessageContaining(HttpFetchOptions.MAX_ATTEMPTS_KEY);
        assertThatThrownBy(() -> new HttpFetchOptions(1, Duration.ofSeconds(2), Duration.ofSeconds(1), 1, "x"))
                .hasMessageContaining(HttpFetchOptions.RETRY_MAX_DELAY_KEY);
        assertThatThrownBy(() -> new HttpFetchOptions(1, Duration.ZERO, Duration.ZERO, 0, "x"))
                .hasMessageContaining(HttpFetchOptions.MAX_PER_HOST_KEY);
        assertThatThrownBy(() -> new HttpFetchOptions(1, Duration.ZERO, Duration.ZERO, 1, "bad\nagent"))
                .hasMessageContaining(HttpFetchOptions.USER_AGENT_KEY);
    }
}
