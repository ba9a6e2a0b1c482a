package dev.loupe.model.onnx;

import dev.loupe.model.api.RuntimeOptions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Independent graph runs spread over the cores, several at once, instead of one after another with each run's
 * operators split over ONNX Runtime's intra-op pool. Small runs (an int8 image tower takes one image per run, see
 * {@link RowsPerRun}: a few hundred token rows per GEMM) keep the pool's threads waiting on each other at every
 * operator, so two threads do little more than one; the same runs side by side on different threads each keep a core
 * busy. The runs still go through the same session and the shared pool, so a run's result is what it is alone (ONNX
 * Runtime's CPU kernels split work over rows and columns, never over a sum, so the thread that computes a value does
 * not change it: tested in {@code Int8PackageTest} and the image encoders' batch-invariance tests).
 *
 * <p>The calling thread runs its share; up to {@code threads - 1} daemon helpers (made on first use) run the rest.
 * A helper that starts after the work is all claimed does nothing, so concurrent callers never wait on each other's
 * helpers. Thread-safe. Close it to stop the helpers.
 */
public final class ConcurrentRuns implements AutoCloseable {
    private final int threads;
    private final String name;
    private ExecutorService helpers;
    private boolean closed;

    /** One run of many: index {@code i} of {@link #forEach}'s count. */
    @FunctionalInterface
    public interface Run<E extends Exception> {
        void run(int index) throws E;
    }

    /**
     * @param threads runs at once, at most (the caller included); 1 runs everything on the caller
     * @param name    the helper threads' name prefix
     */
    public ConcurrentRuns(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.name = name;
    }

    /**
     * System property: the most runs at once for {@link #forSharedPool} (1 = one after another, as before), instead
     * of the pool's thread count. For measurements.
     */
    public static final String PROPERTY = "loupe.ort.concurrent-runs";

    /**
     * Runs at once for sessions on the process's shared pool ({@link OrtSessions}): as many as the pool has threads
     * ({@code fallback} where there is no shared pool, the default thread count where that is 0), or
     * {@link #PROPERTY} where set.
     */
    public static ConcurrentRuns forSharedPool(int fallback, String name) {
        int pool = OrtSessions.sharedPoolThreads();
        int n = pool < 0 ? fallback : pool;
        String asked = System.getProperty(PROPERTY);
        if (asked != null && !asked.isBlank()) {
            try {
                n = Integer.parseInt(asked.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(PROPERTY + " must be a positive integer, not " + asked, e);
            }
            if (n < 1) {
                throw new IllegalArgumentException(PROPERTY + " must be a positive integer, not " + asked);
            }
        }
        return new ConcurrentRuns(n == 0 ? OrtSessions.defaultIntraOpThreads() : n, name);
    }

    /**
     * How an image encoder's runs share the cores: side by side on the shared pool ({@link #forSharedPool}) where
     * each run is too small to spread over the pool ({@code smallRuns}: the graph takes fewer images per run than it
     * could) and the runs execute on the CPU; one after another otherwise (a GPU runs each run whole).
     */
    public static ConcurrentRuns forImageRuns(boolean smallRuns, RuntimeOptions options, String name) {
        return smallRuns ? forCpuRuns(options, name) : new ConcurrentRuns(1, name);
    }

    /**
     * Runs side by side on the shared pool ({@link #forSharedPool}) where {@code options} run graphs on the CPU; one
     * after another on a GPU (which runs each run whole).
     */
    public static ConcurrentRuns forCpuRuns(RuntimeOptions options, String name) {
        return options.device() == RuntimeOptions.Device.CPU
                ? forSharedPool(options.intraOpThreads(), name)
                : new ConcurrentRuns(1, name);
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code run} for every index in [0, count), up to {@link #threads()} at once, and returns when all have
     * ended. The first failure is thrown (after the runs already started have ended); indices not yet started then
     * are skipped.
     */
    public <E extends Exception> void forEach(int count, Run<E> run) throws E {
        int parallel = Math.min(threads, count);
        ExecutorService pool = parallel > 1 ? helpers() : null;
        if (pool == null) {
            for (int i = 0; i < count; i++) {
                run.run(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        CountDownLatch ended = new CountDownLatch(count);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable share = () -> runShare(count, run, next, ended, failure);
        for (int h = 1; h < parallel; h++) {
            try {
                pool.execute(share);
            } catch (RejectedExecutionException e) { // closed meanwhile: the caller does the rest
                break;
            }
        }
        share.run();
        boolean interrupted = false;
        while (true) {
            try {
                ended.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the runs in flight use the caller's buffers: wait for them all the same
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        rethrow(failure.get());
    }

    /** Claims and runs indices until none is left; after a failure, claims them without running them. */
    private static <E extends Exception> void runShare(int count, Run<E> run, AtomicInteger next,
                                                       CountDownLatch ended, AtomicReference<Throwable> failure) {
        for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
            try {
                if (failure.get() == null) {
                    run.run(i);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                ended.countDown();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> void rethrow(Throwable t) throws E {
        if (t == null) {
            return;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw (E) t;
    }

    private synchronized ExecutorService helpers() {
        if (closed) {
            return null;
        }
        if (helpers == null) {
            AtomicInteger made = new AtomicInteger();
            helpers = Executors.newFixedThreadPool(threads - 1, r -> {
                Thread t = new Thread(r, name + "-" + made.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return helpers;
    }

    /** Stops the helpers once their runs have ended; later {@link #forEach} calls run on the caller alone. */
    @Override
    public synchronized void close() {
        closed = true;
        if (helpers != null) {
            helpers.shutdown();
            helpers = null;
        }
    }
}
