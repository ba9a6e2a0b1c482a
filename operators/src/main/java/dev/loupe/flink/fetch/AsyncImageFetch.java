package dev.loupe.flink.fetch;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.failure.Fallible;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

/**
 * Fetches image bytes with Flink async I/O on a pool of {@link FetchSettings#concurrency()} threads (the async operator's
 * capacity is the same number, so neither the pool's queue nor the operator's buffer grows without bound).
 * Never fails the job: every outcome, including Flink's async timeout, is a {@link Fallible}, completed once per input
 * (the fetcher's retries happen inside one fetch). Inline images complete at once without using the pool.
 *
 * <p>Metrics, in the operator's group under {@code fetch}: {@code retries} (http(s) attempts after a transient
 * fault), {@code failures.<ERROR_CODE>} (final failures per error code) and {@code failuresByStatus.<HTTP status>}
 * (final failures on an HTTP status).
 */
public final class AsyncImageFetch extends RichAsyncFunction<ValidatedRequest, Fallible<FetchedImage>> {
    private final FetchSettings settings;
    private transient ImageFetcher fetcher;
    private transient ExecutorService pool;
    /** Fetches in progress, by request identity, so that Flink's timeout can interrupt the thread doing one. */
    private transient Map<ValidatedRequest, Future<?>> running;
    private transient Metrics metrics;

    public AsyncImageFetch(FetchSettings settings) {
        this.settings = settings;
    }

    @Override
    public void open(OpenContext openContext) {
        open(metricGroup());
    }

    /** Opens with the metrics in {@code group} (tests pass a group that records). */
    void open(MetricGroup group) {
        metrics = new Metrics(group.addGroup("fetch"));
        fetcher = settings.newFetcher(metrics);
        running = new ConcurrentHashMap<>();
        int threads = settings.concurrency();
        pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads), new ExecutorThreadFactory("loupe-image-fetch"));
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
        if (fetcher != null) {
            fetcher.close();
        }
    }

    /** The operator's metric group; a detached one when the function runs outside a task (unit tests). */
    private MetricGroup metricGroup() {
        try {
            return getRuntimeContext().getMetricGroup();
        } catch (IllegalStateException e) {
            return UnregisteredMetricsGroup.createOperatorMetricGroup();
        }
    }

    /** Counters of retries and final failures, created per code and status on first use. */
    private static final class Metrics implements FetchEvents {
        private final Counter retries;
        private final MetricGroup byCode;
        private final MetricGroup byStatus;
        private final Map<String, Counter> counters = new ConcurrentHashMap<>();

        Metrics(MetricGroup group) {
            retries = group.counter("retries");
            byCode = group.addGroup("failures");
            byStatus = group.addGroup("failuresByStatus");
        }

        @Override
        public void retried() {
            retries.inc();
        }

        @Override
        public void failedWithStatus(int httpStatus) {
            String name = Integer.toString(httpStatus);
            counters.computeIfAbsent("status " + name, k -> byStatus.counter(name)).inc();
        }

        void failed(ErrorCode code) {
            counters.computeIfAbsent("code " + code.name(), k -> byCode.counter(code.name())).inc();
        }
    }

    private Fallible<FetchedImage> failed(Fallible<FetchedImage> outcome) {
        if (outcome.failure != null && metrics != null) {
            metrics.failed(outcome.failure.code);
        }
        return outcome;
    }

    @Override
    public void asyncInvoke(ValidatedRequest request, ResultFuture<Fallible<FetchedImage>> result) {
        if (request.imageBytes != null) {
            result.complete(List.of(failed(fetch(request))));
            return;
        }
        FutureTask<Void> task = new FutureTask<>(() -> {
            Fallible<FetchedImage> outcome;
            try {
                outcome = fetch(request);
            } finally {
                if (running.remove(request) == null) {
                    outcome = null;   // Flink's timeout already completed this input (and counted it)
                }
            }
            if (outcome != null) {
                result.complete(List.of(failed(outcome)));
            }
            return null;
        });
        running.put(request, task);
        try {
            pool.execute(task);
        } catch (RejectedExecutionException e) {
            running.remove(request);
            result.complete(List.of(failed(Fallible.failure(request.failure(Failures.FETCH, ErrorCode.FETCH_FAILED,
                    "too many image fetches still running: " + e.getMessage())))));
        }
    }

    @Override
    public void timeout(ValidatedRequest request, ResultFuture<Fallible<FetchedImage>> result) {
        Future<?> fetching = running.remove(request);
        if (fetching != null) {
            fetching.cancel(true);
        }
        result.complete(List.of(failed(Fallible.failure(request.failure(Failures.FETCH, ErrorCode.FETCH_TIMEOUT,
                "fetching " + request.imageLabel() + " took longer than " + settings.timeout())))));
    }

    /** An exception's text with any copy of the request's URI in it redacted. */
    private static String redacted(Exception e, ValidatedRequest request) {
        String text = String.valueOf(e);
        return request.imageUri == null ? text : text.replace(request.imageUri, request.imageLabel());
    }

    private Fallible<FetchedImage> fetch(ValidatedRequest request) {
        long start = System.nanoTime();
        try {
            byte[] bytes = request.imageBytes != null
                    ? fetcher.checkInline(request.imageBytes)
                    : fetcher.fetch(request.imageUri);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // never change the input: Flink's async operator checkpoints the inputs it has not emitted yet and
            // replays them after a restore (an input without its inline bytes would then fail to fetch)
            return Fallible.success(new FetchedImage(request.withoutImageBytes(), bytes, millis));
        } catch (AnnotationException e) {
            return Fallible.failure(request.failure(Failures.FETCH, e));
        } catch (RuntimeException e) {
            return Fallible.failure(request.failure(Failures.FETCH, ErrorCode.INTERNAL,
                    "unexpected error fetching " + request.imageLabel() + ": " + redacted(e, request)));
        }
    }
}
