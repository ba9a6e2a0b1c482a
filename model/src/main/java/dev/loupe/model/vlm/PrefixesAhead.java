package dev.loupe.model.vlm;

import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The image-side prefixes of the requests a continuous loop holds before admitting them, built ahead of their
 * admission.
 *
 * <p>Without a background builder, groups of up to {@code maxGroup} rows are built on the loop's thread when it
 * needs them ({@link #await}): the image side costs less per row in larger groups, and a loop whose admissions take
 * a few rows at a time would otherwise run it in groups of that size. Rows keep their order.
 *
 * <p>With one ({@link #PrefixesAhead(Builder, Builder, int, int)}), a thread of its own in Linux's idle scheduling
 * class ({@link ThreadNiceness#idleClass}) builds small groups of waiting rows, one after another, through a builder
 * whose runs stay on that thread (no intra-op pool): it runs only on the cores the loop leaves idle — between the
 * decode steps' runs, in their single-threaded operators, in the Java around them — and the loop's threads take a
 * core back the moment they wake. When an admission needs more rows than are built, the loop builds the missing ones
 * itself, on the pool, from the rows not yet started ({@link #buildMissing}), rather than wait for a thread that
 * gets only idle cycles; the rows of the group in progress come out when it ends, after rows the loop built later.
 * Admission order may thus differ from arrival order; every row's result does not (batch invariance).
 *
 * <p>A group that fails is built again row by row, so that only the row at fault fails (the image side is batch
 * invariant: a row's prefix does not depend on its group). Prefixes built and not taken are released by
 * {@link #drain} and {@link #close}. Driven by one loop thread; not thread-safe. {@link #close} waits for a build
 * in progress.
 *
 * @param <R> the loop's row
 */
final class PrefixesAhead<R> implements AutoCloseable {

    /** Builds the prefixes of a group of rows (one per row, in order); may throw for the group. */
    @FunctionalInterface
    interface Builder<R> {
        List<VisualPrefix> build(List<R> rows) throws Exception;
    }

    /** A row with its prefix, or with the failure that left it without one. */
    record Built<R>(R row, VisualPrefix prefix, Exception failure) {}

    /** See {@link PrefixLanguageModelAnnotator#PREFIXES_IN_BACKGROUND}. */
    static final String BACKGROUND_PROPERTY = "loupe.continuous.prefixes-in-background";

    /** See {@link PrefixLanguageModelAnnotator#BACKGROUND_GROUP}. */
    static final String BACKGROUND_GROUP_PROPERTY = "loupe.continuous.background-group";

    /** Rows per background group unless {@link #BACKGROUND_GROUP_PROPERTY} says otherwise. */
    static final int DEFAULT_BACKGROUND_GROUP = 1;

    private final Builder<R> builder;
    private final Builder<R> backgroundBuilder;
    private final int maxGroup;
    private final int backgroundGroup;
    private final ExecutorService thread;
    private final ArrayDeque<R> waiting = new ArrayDeque<>();
    private final ArrayDeque<Built<R>> built = new ArrayDeque<>();
    private List<R> building = List.of();
    private Future<List<Built<R>>> job;

    /**
     * Groups built on the loop's thread only.
     *
     * @param maxGroup most rows built in one group (&gt;= 1)
     */
    PrefixesAhead(Builder<R> builder, int maxGroup) {
        this(builder, null, maxGroup, 1);
    }

    /**
     * @param builder           builds on the loop's thread (its runs may use the pool)
     * @param backgroundBuilder builds on the background thread (its runs should stay on that thread); null: no
     *                          background thread
     * @param maxGroup          most rows the loop builds in one group (&gt;= 1)
     * @param backgroundGroup   most rows the background thread builds in one group (&gt;= 1)
     */
    PrefixesAhead(Builder<R> builder, Builder<R> backgroundBuilder, int maxGroup, int backgroundGroup) {
        if (maxGroup < 1 || backgroundGroup < 1) {
            throw new IllegalArgumentException("groups must be >= 1 rows, got " + maxGroup + " and " + backgroundGroup);
        }
        this.builder = builder;
        this.backgroundBuilder = backgroundBuilder;
        this.maxGroup = maxGroup;
        this.backgroundGroup = backgroundGroup;
        this.thread = backgroundBuilder == null ? null : Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(() -> {
                ThreadNiceness.idleClass();
                r.run();
            }, "loupe-prefixes-ahead");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Whether continuous batching builds prefixes on a background thread ({@link #BACKGROUND_PROPERTY}; default
     * true).
     */
    static boolean backgroundByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty(BACKGROUND_PROPERTY, "true").trim());
    }

    /** Rows per background group ({@link #BACKGROUND_GROUP_PROPERTY}, else {@link #DEFAULT_BACKGROUND_GROUP}). */
    static int backgroundGroupByDefault() {
        String asked = System.getProperty(BACKGROUND_GROUP_PROPERTY);
        if (asked == null || asked.isBlank()) {
            return DEFAULT_BACKGROUND_GROUP;
        }
        try {
            int n = Integer.parseInt(asked.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(BACKGROUND_GROUP_PROPERTY + " must be a positive integer, not " + asked);
    }

    boolean background() {
        return thread != null;
    }

    /** A row to build, after those added before it. */
    void add(R row) {
        waiting.add(row);
    }

    /** Rows held: waiting, building and built, not yet taken. */
    int held() {
        return waiting.size() + building.size() + built.size();
    }

    boolean isEmpty() {
        return held() == 0;
    }

    /** Rows whose prefixes are built (or failed), oldest first; the caller takes from it. */
    ArrayDeque<Built<R>> built() {
        collectDone();
        return built;
    }

    /**
     * With a background thread, starts building the next group of waiting rows unless a build is in progress;
     * without one, does nothing.
     */
    void buildAhead() {
        collectDone();
        if (thread != null && job == null && !waiting.isEmpty()) {
            building = nextGroup(backgroundGroup);
            List<R> group = building;
            job = thread.submit(() -> build(group, backgroundBuilder));
        }
    }

    /**
     * Makes sure something is built unless nothing is held: waits for the build in progress, or builds the next
     * group on this thread. Returns at once when rows are built already.
     */
    void await() throws InterruptedException {
        collect(false);
        if (!built.isEmpty()) {
            return;
        }
        if (job != null) {
            collect(true);
        } else if (!waiting.isEmpty()) {
            built.addAll(build(nextGroup(maxGroup), builder));
        }
    }

    /**
     * Makes {@code needed} rows built where it can without waiting for the background: takes what the background
     * finished, then builds as many of the rows not yet started as are still missing on this thread (one group). Waits
     * for the group in progress only when {@code mayWait} and nothing is built after that (its rows are then all
     * that is held, and the caller has nothing else to do).
     */
    void buildMissing(int needed, boolean mayWait) throws InterruptedException {
        collect(false);
        int missing = needed - built.size();
        if (missing > 0 && !waiting.isEmpty()) {
            built.addAll(build(nextGroup(Math.min(missing, maxGroup)), builder));
        }
        if (built.isEmpty() && mayWait) {
            collect(true);
        }
    }

    /**
     * Everything held that was not taken, in order (rows whose prefixes failed too), after the build in progress
     * ended; nothing is held after.
     */
    List<R> drain() throws InterruptedException {
        collect(true);
        List<R> rows = new ArrayList<>(held());
        built.forEach(b -> rows.add(b.row()));
        releaseBuilt();
        rows.addAll(waiting);
        built.clear();
        waiting.clear();
        return rows;
    }

    private List<R> nextGroup(int most) {
        List<R> group = new ArrayList<>(Math.min(most, waiting.size()));
        while (group.size() < most && !waiting.isEmpty()) {
            group.add(waiting.poll());
        }
        return group;
    }

    /** {@link #collect} without waiting (a finished build's result is there at once). */
    private void collectDone() {
        try {
            collect(false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Moves a finished build's rows to {@link #built}; with {@code wait}, waits for the build in progress. */
    private void collect(boolean wait) throws InterruptedException {
        if (job == null || (!wait && !job.isDone())) {
            return;
        }
        try {
            built.addAll(job.get());
        } catch (ExecutionException e) {
            // build() reports failures per row; anything else fails every row of the group alike
            Exception cause = e.getCause() instanceof Exception ex ? ex : new IllegalStateException(e.getCause());
            building.forEach(row -> built.add(new Built<>(row, null, cause)));
        } finally {
            job = null;
            building = List.of();
        }
    }

    private static <R> List<Built<R>> build(List<R> group, Builder<R> builder) {
        List<Built<R>> out = new ArrayList<>(group.size());
        try {
            List<VisualPrefix> prefixes = builder.build(group);
            for (int k = 0; k < group.size(); k++) {
                out.add(new Built<>(group.get(k), prefixes.get(k), null));
            }
            return out;
        } catch (Exception e) {
            if (group.size() == 1) {
                return List.of(new Built<>(group.get(0), null, e));
            }
        }
        for (R row : group) {
            out.addAll(build(List.of(row), builder));
        }
        return out;
    }

    /** Releases the prefixes of the built rows not taken. */
    private void releaseBuilt() {
        for (Built<R> b : built) {
            if (b.prefix() != null) {
                b.prefix().close();
            }
        }
    }

    /** Stops the background thread (waiting for a build in progress) and releases the prefixes not taken. */
    @Override
    public void close() {
        try {
            stopThread();
            collectDone(); // a build that ran has ended; one that never started is dropped
        } finally {
            job = null;
            releaseBuilt();
            built.clear();
        }
    }

    private void stopThread() {
        if (thread == null) {
            return;
        }
        thread.shutdownNow();
        boolean interrupted = false;
        while (true) {
            try {
                if (thread.awaitTermination(1, TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
