package dev.loupe.model.vlm;

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
 * admission in groups of up to {@code maxGroup} rows: the image side costs less per row in larger groups, and a
 * loop whose admissions take a few rows at a time would otherwise run it in groups of that size. With a background
 * thread the next group is built while the loop's rows decode, so the image side also fills the cores that the
 * decode steps (small runs, Java between them) leave idle; without one a group is built when the loop needs it.
 * Rows keep their order: built rows come out first come, first served. A group that fails is built again row by
 * row, so that only the row at fault fails (the image side is batch invariant: a row's prefix does not depend on
 * its group). Prefixes built and not taken are released by {@link #drain} and {@link #close}. Driven by one loop
 * thread; not thread-safe. {@link #close} waits for a build in progress.
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

    private final Builder<R> builder;
    private final int maxGroup;
    private final ExecutorService thread;
    private final ArrayDeque<R> waiting = new ArrayDeque<>();
    private final ArrayDeque<Built<R>> built = new ArrayDeque<>();
    private List<R> building = List.of();
    private Future<List<Built<R>>> job;

    /**
     * @param maxGroup   most rows built in one group (&gt;= 1)
     * @param background whether groups are built on a thread of their own while the loop decodes
     */
    PrefixesAhead(Builder<R> builder, int maxGroup, boolean background) {
        if (maxGroup < 1) {
            throw new IllegalArgumentException("maxGroup must be >= 1, got " + maxGroup);
        }
        this.builder = builder;
        this.maxGroup = maxGroup;
        this.thread = background ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "loupe-prefixes-ahead");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** Whether a background thread builds the groups (else {@link #await} builds them on the caller's thread). */
    static boolean backgroundByDefault() {
        return Boolean.getBoolean(BACKGROUND_PROPERTY);
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
            building = nextGroup();
            List<R> group = building;
            job = thread.submit(() -> build(group));
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
            built.addAll(build(nextGroup()));
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

    private List<R> nextGroup() {
        List<R> group = new ArrayList<>(Math.min(maxGroup, waiting.size()));
        while (group.size() < maxGroup && !waiting.isEmpty()) {
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

    private List<Built<R>> build(List<R> group) {
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
            out.addAll(build(List.of(row)));
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
