package dev.loupe.flink.fetch;

import static dev.loupe.flink.fetch.FlakyServer.IMAGE;
import static dev.loupe.flink.fetch.FlakyServer.ok;
import static dev.loupe.flink.fetch.FlakyServer.status;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.failure.Fallible;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The async operator's view of retries: one completion per input, whatever the attempts, and the fetch metrics. */
class AsyncImageFetchRetryTest {
    private FlakyServer server;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private AsyncImageFetch fetch;

    /** A metric group that keeps its counters by dotted name. */
    private static final class Recording extends UnregisteredMetricsGroup {
        private final Map<String, Counter> counters;
        private final String prefix;

        Recording(Map<String, Counter> counters, String prefix) {
            this.counters = counters;
            this.prefix = prefix;
        }

        @Override
        public Counter counter(String name) {
            return counters.computeIfAbsent(prefix + name, k -> new SimpleCounter());
        }

        @Override
        public MetricGroup addGroup(String name) {
            return new Recording(counters, prefix + name + ".");
        }
    }

    /** Counts every completion, so a duplicate would show. */
    private static final class Completions implements ResultFuture<Fallible<FetchedImage>> {
        final List<Fallible<FetchedImage>> values = new CopyOnWriteArrayList<>();
        final CountDownLatch first = new CountDownLatch(1);

        @Override
        public void complete(Collection<Fallible<FetchedImage>> result) {
            values.addAll(result);
            first.countDown();
        }

        @Override
        public void completeExceptionally(Throwable error) {
            throw new AssertionError("the fetch never completes exceptionally", error);
        }

        @Override
        public void complete(CollectionSupplier<Fallible<FetchedImage>> supplier) {
            try {
                complete(supplier.get());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        Fallible<FetchedImage> only() throws InterruptedException {
            assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(100);   // room for a second completion, which must not come
            assertThat(values).hasSize(1);
            return values.get(0);
        }
    }

    @BeforeEach
    void start() throws Exception {
        server = new FlakyServer().on("/flaky.jpg", status(503, "1"), ok()).on("/down.jpg", status(503, null));
        fetch = new AsyncImageFetch(PipelineOptions.builder()
                .allowedHosts(List.of("127.0.0.1"))   // the test server is on loopback, refused by default
                .fetchTimeout(Duration.ofSeconds(5))
                .fetchMaxAttempts(3)
                .fetchRetryBaseDelay(Duration.ofMillis(10))
                .fetchRetryMaxDelay(Duration.ofSeconds(2))
                .build().fetch());
        fetch.open(new Recording(counters, ""));
    }

    @AfterEach
    void stop() {
        fetch.close();
        server.close();
    }

    private static ValidatedRequest request(String id, String uri) {
        return new ValidatedRequest(id, uri, null, Task.CAPTION, "p", List.of(), GenerationConfig.GREEDY, Map.of());
    }

    private long count(String name) {
        Counter c = counters.get(name);
        return c == null ? 0 : c.getCount();
    }

    @Test
    void aTransient503CompletesOnceWithTheImage() throws Exception {
        Completions result = new Completions();
        fetch.asyncInvoke(request("1", server.url("/flaky.jpg")), result);
        Fallible<FetchedImage> outcome = result.only();
        assertThat(outcome.failure).isNull();
        assertThat(outcome.value.bytes).containsExactly(IMAGE);
        assertThat(server.hits("/flaky.jpg")).isEqualTo(2);
        assertThat(count("fetch.retries")).isEqualTo(1);
        assertThat(counters.keySet()).noneMatch(k -> k.startsWith("fetch.failures"));
    }

    @Test
    void aServerThatStaysDownEndsAsOneFetchFailedCountedByCodeAndStatus() throws Exception {
        Completions result = new Completions();
        fetch.asyncInvoke(request("2", server.url("/down.jpg")), result);
        Fallible<FetchedImage> outcome = result.only();
        assertThat(outcome.failure.code).isEqualTo(ErrorCode.FETCH_FAILED);
        assertThat(outcome.failure.message).contains("HTTP 503");
        assertThat(server.hits("/down.jpg")).isEqualTo(3);
        assertThat(count("fetch.retries")).isEqualTo(2);
        assertThat(count("fetch.failures.FETCH_FAILED")).isEqualTo(1);
        assertThat(count("fetch.failuresByStatus.503")).isEqualTo(1);
    }
}
