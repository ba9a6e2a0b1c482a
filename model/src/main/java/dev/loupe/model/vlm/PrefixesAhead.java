package dev.loupe.model.vlm;

import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The image-side prefixes of the requests a continuous loop holds before admitting them, built ahead of their
 * admission.
 *
 * <p>Without a background builder, groups of up to {@code maxGroup} rows are built on the loop's thread when it
 * needs them ({@link #await}): the image side costs less per row in larger groups, and a loop whose admissions take
 * a few rows at a time would otherwise run it in groups of that size. Rows keep their order.
 *
 * <p>With one ({@link #PrefixesAhead(Builder, Builder, int, int)}), a thread of its own in Linux's idle scheduling
 * class ({@link ThreadNiceness#idleClass}) builds small groups of the waiting rows, one after another, through a
 * builder whose runs stay on that thread (no intra-op pool): it runs only on cycles the loop leaves idle — between
 * the decode steps' runs, in their single-threaded operators, in the Java around them — and the loop's threads take
 * the core back the moment they wake. The loop never waits for that thread: when an admission needs more rows than
 * are built, the loop builds the missing ones itself over the pool ({@link #buildMissing}), first from the rows not
 * started, then, if still short, the rows of the background's group in progress (whose result is then dropped). Rows
 * may thus be admitted in another order than they came; every row's result does not change (batch invariance).
 *
 * <p>A group that fails is built again row by row, so that only the row at fault fails (the image side is batch
 * invariant: a row's prefix does not depend on its group). Prefixes built and not taken are released by
 * {@link #drain} and {@link #close}. Driven by one loop thread (the background thread aside); {@link #close} waits
 * for a build in progress.
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
    private final Thread thread;

    // guarded by this (the background thread shares them)
    private final ArrayDeque<R> waiting = new ArrayDeque<>();
    private final ArrayDeque<Built<R>> built = new ArrayDeque<>();
    /** The background's group in progress; empty when none or when the loop took its rows over. */
    private List<R> building = List.of();
    /** Bumped whenever the loop takes a group in progress over: that build's result is dropped. */
    private long generation;
    private boolean closed;

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
        if (backgroundBuilder == null) {
            this.thread = null;
        } else {
            this.thread = new Thread(this::buildInBackground, "loupe-prefixes-ahead");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * Whether continuous batching builds prefixes on a background thread ({@link #BACKGROUND_PROPERTY}; default
     * false: on the quiet 2-core machine it did not pay, as the background's memory traffic slows the decode steps
     * it runs beside, and at fp32 its sessions are a second copy of the image side's weights; docs/benchmarks.md).
     */
    static boolean backgroundByDefault() {
        return "true".equalsIgnoreCase(System.getProperty(BACKGROUND_PROPERTY, "false").trim());
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
        addAll(List.of(row));
    }

    /** Rows to build, in order, after those added before them (the background may take them in one group). */
    synchronized void addAll(List<R> rows) {
        waiting.addAll(rows);
        notifyAll();
    }

    /** Rows held: waiting, building and built, not yet taken. */
    synchronized int held() {
        return waiting.size() + building.size() + built.size();
    }

    boolean isEmpty() {
        return held() == 0;
    }

    /** Takes up to {@code most} rows whose prefixes are built (or failed), oldest first. */
    synchronized List<Built<R>> take(int most) {
        List<Built<R>> out = new ArrayList<>(Math.min(most, built.size()));
        while (out.size() < most && !built.isEmpty()) {
            out.add(built.poll());
        }
        return out;
    }

    /**
     * Without a background thread: makes sure something is built unless nothing is held, building the next group
     * on this thread. Returns at once when rows are built already.
     */
    void await() {
        buildMissing(1, maxGroup);
    }

    /**
     * Makes {@code needed} rows built without waiting for the background thread: builds the rows still missing on
     * this thread, in one group of at least {@code minGroup} rows where that many wait (an image-side run over the
     * pool has a fixed cost; rows built beyond the need join at a later admission), from the rows not started and
     * then, if still short, the background's group in progress (taken over: its build's result is dropped).
     */
    void buildMissing(int needed, int minGroup) {
        List<R> group;
        synchronized (this) {
            int missing = needed - built.size();
            if (missing <= 0) {
                return;
            }
            group = nextGroup(Math.min(Math.max(missing, minGroup), maxGroup));
            if (group.size() < missing && !building.isEmpty()) {
                List<R> takenOver = new ArrayList<>(building);
                takenOver.addAll(group);
                group = takenOver;
                building = List.of();
                generation++;
            }
        }
        if (group.isEmpty()) {
            return;
        }
        List<Built<R>> out = build(group, builder);
        synchronized (this) {
            built.addAll(out);
        }
    }

    /**
     * Everything held that was not taken, in order of building (rows whose prefixes failed too); nothing is held
     * after. A background build in progress is not waited for: its rows are among those returned, its result dropped.
     */
    synchronized List<R> drain() {
        List<R> rows = new ArrayList<>(held());
        built.forEach(b -> rows.add(b.row()));
        releaseBuilt();
        rows.addAll(building);
        building = List.of();
        generation++;
        rows.addAll(waiting);
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

    /** The background thread: builds groups of waiting rows until closed. */
    private void buildInBackground() {
        ThreadNiceness.idleClass();
        while (true) {
            List<R> group;
            long mine;
            synchronized (this) {
                while (waiting.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // close() sets closed and interrupts: the loop condition decides
                    }
                }
                if (closed) {
                    return;
                }
                group = nextGroup(backgroundGroup);
                building = group;
                mine = generation;
            }
            List<Built<R>> out;
            try {
                out = build(group, backgroundBuilder);
            } catch (RuntimeException | Error e) {
                Exception cause = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                out = group.stream().map(row -> new Built<R>(row, null, cause)).toList();
            }
            synchronized (this) {
                if (mine == generation && !closed) {
                    built.addAll(out);
                    building = List.of();
                } else {
                    release(out); // taken over by the loop (or drained, or closed) meanwhile
                }
            }
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
        release(built);
        built.clear();
    }

    private static <R> void release(Iterable<Built<R>> rows) {
        for (Built<R> b : rows) {
            if (b.prefix() != null) {
                b.prefix().close();
            }
        }
    }

    /** Stops the background thread (waiting for a build in progress) and releases the prefixes not taken. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        if (thread != null) {
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the build in progress holds the model's buffers: wait for it all the same
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            releaseBuilt();
            building = List.of();
        }
    }
}
