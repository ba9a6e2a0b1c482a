package dev.loupe.model.vlm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.cpu.ThreadNiceness;
import dev.loupe.model.llm.DeviceRows;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class PrefixesAheadTest {

    /** Builds row r's prefix as {{r}}; fails any group holding a negative row; records the groups and threads. */
    private static final class Recording implements PrefixesAhead.Builder<Integer> {
        final List<List<Integer>> groups = Collections.synchronizedList(new ArrayList<>());
        final List<String> threads = Collections.synchronizedList(new ArrayList<>());

        @Override
        public List<VisualPrefix> build(List<Integer> rows) {
            groups.add(List.copyOf(rows));
            threads.add(Thread.currentThread().getName());
            if (rows.stream().anyMatch(r -> r < 0)) {
                throw new IllegalArgumentException("bad row in " + rows);
            }
            return rows.stream().map(r -> VisualPrefix.onHost(new float[][] {{r}})).toList();
        }
    }

    private static List<Integer> taken(PrefixesAhead<Integer> ahead) {
        List<Integer> rows = new ArrayList<>();
        for (PrefixesAhead.Built<Integer> b : ahead.take(Integer.MAX_VALUE)) {
            rows.add(b.failure() == null ? (int) b.prefix().rows()[0][0] : -1000);
        }
        return rows;
    }

    @Test
    void buildsOnTheCallersThreadInGroupsOfUpToMaxGroupInOrder() throws Exception {
        Recording builder = new Recording();
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(builder, 4)) {
            for (int r = 0; r < 6; r++) {
                ahead.add(r);
            }
            assertThat(ahead.background()).isFalse();
            assertThat(builder.groups).isEmpty();
            assertThat(ahead.held()).isEqualTo(6);

            ahead.await();
            assertThat(builder.groups).containsExactly(List.of(0, 1, 2, 3));
            ahead.await(); // rows are built already: nothing more is built
            assertThat(builder.groups).hasSize(1);
            assertThat(taken(ahead)).containsExactly(0, 1, 2, 3);
            ahead.await();
            assertThat(taken(ahead)).containsExactly(4, 5);
            assertThat(ahead.isEmpty()).isTrue();
            assertThat(builder.threads).containsOnly(Thread.currentThread().getName());
        }
    }

    @Test
    void aFailingGroupIsBuiltAgainRowByRowSoOnlyTheRowAtFaultFails() throws Exception {
        Recording builder = new Recording();
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(builder, 3)) {
            List.of(7, -1, 9).forEach(ahead::add);
            ahead.await();
            List<PrefixesAhead.Built<Integer>> built = ahead.take(3);
            assertThat(built).extracting(PrefixesAhead.Built::row).containsExactly(7, -1, 9);
            assertThat(built.get(0).prefix().rows()[0][0]).isEqualTo(7f);
            assertThat(built.get(1).failure()).hasMessageContaining("bad row in [-1]");
            assertThat(built.get(1).prefix()).isNull();
            assertThat(built.get(2).prefix().rows()[0][0]).isEqualTo(9f);
            assertThat(builder.groups).containsExactly(List.of(7, -1, 9), List.of(7), List.of(-1), List.of(9));
        }
    }

    /**
     * The background thread builds small groups on its own while the caller goes on; an admission that needs more
     * rows than are built gets the missing ones built on the caller's thread from the rows not started, without
     * waiting for the group in progress, which comes out once it ends.
     */
    @Test
    void theCallerBuildsTheMissingRowsItselfInsteadOfWaitingForTheBackground() throws Exception {
        Gate gate = new Gate();
        Recording onLoop = new Recording();
        Recording inBackground = new Recording();
        PrefixesAhead.Builder<Integer> blocking = gate.blocking(rows -> inBackground.build(rows));
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(onLoop, blocking, 4, 2)) {
            assertThat(ahead.background()).isTrue();
            ahead.addAll(List.of(0, 1, 2, 3, 4, 5, 6));
            assertThat(gate.started.await(30, TimeUnit.SECONDS)).isTrue(); // rows 0 and 1 on the background, held there
            assertThat(ahead.take(10)).isEmpty();
            assertThat(ahead.held()).isEqualTo(7);

            ahead.buildMissing(3, 1); // rows 2, 3, 4 on this thread; the background's group is not waited for
            assertThat(onLoop.groups).containsExactly(List.of(2, 3, 4));
            assertThat(onLoop.threads).containsOnly(Thread.currentThread().getName());
            assertThat(taken(ahead)).containsExactly(2, 3, 4);

            gate.release.countDown();
            List<Integer> rest = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (rest.size() < 4 && System.nanoTime() < deadline) { // the background goes on with 5 and 6 alone
                rest.addAll(taken(ahead));
                Thread.onSpinWait();
            }
            assertThat(rest).containsExactly(0, 1, 5, 6);
            assertThat(ahead.isEmpty()).isTrue();
            assertThat(inBackground.groups).containsExactly(List.of(0, 1), List.of(5, 6));
            assertThat(inBackground.threads).containsOnly("loupe-prefixes-ahead");
        }
    }

    /**
     * Rows missing once nothing waits are the background's group in progress: the caller builds them itself and the
     * background's result for them is dropped (released), so the loop never waits on a thread that gets idle cycles
     * only.
     */
    @Test
    void theCallerTakesTheBackgroundsGroupOverWhenItsRowsAreAllThatIsMissing() throws Exception {
        AtomicInteger freed = new AtomicInteger();
        Gate gate = new Gate();
        Recording onLoop = new Recording();
        PrefixesAhead.Builder<Integer> blocking = gate.blocking(rows -> onDevice(rows, freed));
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(onLoop, blocking, 4, 2)) {
            ahead.addAll(List.of(0, 1, 2));
            assertThat(gate.started.await(30, TimeUnit.SECONDS)).isTrue(); // 0 and 1 on the background
            ahead.buildMissing(3, 1);
            assertThat(onLoop.groups).containsExactly(List.of(0, 1, 2));
            assertThat(taken(ahead)).containsExactly(0, 1, 2);
            assertThat(ahead.isEmpty()).isTrue();
            gate.release.countDown();
        }
        assertThat(freed).as("the background's dropped build released its prefixes").hasValue(1);
    }

    /** The caller builds at least {@code minGroup} rows where that many wait: a run over the pool has a fixed cost. */
    @Test
    void theCallerBuildsAtLeastMinGroupRows() throws Exception {
        Gate gate = new Gate();
        Recording onLoop = new Recording();
        PrefixesAhead.Builder<Integer> blocking = gate.blocking(rows -> new Recording().build(rows));
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(onLoop, blocking, 16, 1)) {
            ahead.addAll(List.of(0, 1, 2, 3, 4, 5));
            assertThat(gate.started.await(30, TimeUnit.SECONDS)).isTrue(); // row 0 on the background
            ahead.buildMissing(1, 3);
            assertThat(onLoop.groups).containsExactly(List.of(1, 2, 3));
            assertThat(taken(ahead)).containsExactly(1, 2, 3);
            ahead.buildMissing(4, 3); // 4 wanted, rows 4 and 5 left to start, then row 0 taken over
            assertThat(onLoop.groups).containsExactly(List.of(1, 2, 3), List.of(0, 4, 5));
            gate.release.countDown();
        }
    }

    /** A group that fails on the background thread is built again row by row there: only the row at fault fails. */
    @Test
    void aFailingBackgroundGroupFailsOnlyTheRowAtFault() throws Exception {
        Recording inBackground = new Recording();
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(new Recording(), inBackground, 4, 3)) {
            ahead.addAll(List.of(7, -1, 9));
            List<PrefixesAhead.Built<Integer>> built = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (built.size() < 3 && System.nanoTime() < deadline) {
                built.addAll(ahead.take(3));
                Thread.onSpinWait();
            }
            assertThat(built).extracting(PrefixesAhead.Built::row).containsExactly(7, -1, 9);
            assertThat(built.get(1).failure()).hasMessageContaining("bad row in [-1]");
            assertThat(built.get(0).prefix().rows()[0][0]).isEqualTo(7f);
            assertThat(built.get(2).prefix().rows()[0][0]).isEqualTo(9f);
            assertThat(inBackground.groups).containsExactly(List.of(7, -1, 9), List.of(7), List.of(-1), List.of(9));
        }
    }

    /** The background thread runs in Linux's idle scheduling class, so the loop's threads take its core at once. */
    @Test
    void theBackgroundThreadRunsInTheIdleSchedulingClass() throws Exception {
        Assumptions.assumeTrue(ThreadNiceness.supported(), "per-thread scheduling needs Linux");
        List<Boolean> idle = Collections.synchronizedList(new ArrayList<>());
        PrefixesAhead.Builder<Integer> recordingClass = rows -> {
            idle.add(ThreadNiceness.inIdleClass());
            return new Recording().build(rows);
        };
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(new Recording(), recordingClass, 4, 1)) {
            ahead.add(0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ahead.take(1).isEmpty() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }
        assertThat(idle).containsExactly(true);
        assertThat(ThreadNiceness.inIdleClass()).as("the caller's class is unchanged").isFalse();
    }

    /** close() while the background builds: it waits for that build and releases what it built. */
    @Test
    void closeWithABuildInProgressWaitsForItAndReleasesItsPrefixes() throws Exception {
        AtomicInteger freed = new AtomicInteger();
        Gate gate = new Gate();
        PrefixesAhead.Builder<Integer> slow = gate.blocking(rows -> onDevice(rows, freed));
        PrefixesAhead<Integer> ahead = new PrefixesAhead<>(new Recording(), slow, 4, 1);
        ahead.add(0);
        assertThat(gate.started.await(30, TimeUnit.SECONDS)).isTrue();
        Thread closing = new Thread(ahead::close);
        closing.start();
        closing.join(300);
        assertThat(closing.isAlive()).as("close waits for the build in progress").isTrue();
        gate.release.countDown();
        closing.join(30_000);
        assertThat(closing.isAlive()).isFalse();
        assertThat(freed).as("the build in progress ended and its prefix was released").hasValue(1);
    }

    /** A builder that says it started, then holds its group until released, deaf to interrupts like a graph run. */
    private static final class Gate {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        PrefixesAhead.Builder<Integer> blocking(PrefixesAhead.Builder<Integer> then) {
            return rows -> {
                started.countDown();
                awaitDeafly(release);
                return then.build(rows);
            };
        }
    }

    /** Waits for {@code latch} whatever interrupts come, like a graph run. */
    private static void awaitDeafly(CountDownLatch latch) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (latch.getCount() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** One device block for the group, released once every row's prefix is closed. */
    private static List<VisualPrefix> onDevice(List<Integer> rows, AtomicInteger freed) {
        DeviceRows block = new DeviceRows(null, rows.size(), 2, 4, freed::incrementAndGet);
        try {
            List<VisualPrefix> out = new ArrayList<>();
            for (int k = 0; k < rows.size(); k++) {
                out.add(VisualPrefix.onDevice(block, k, new float[0][]));
            }
            return out;
        } finally {
            block.release();
        }
    }

    /**
     * Prefixes built and never taken are released — by drain (the loop falls back to static batches) and by close
     * (the loop ends) — so a device block of image outputs does not outlive its loop.
     */
    @Test
    void prefixesBuiltAndNotTakenAreReleasedByDrainAndClose() throws Exception {
        AtomicInteger freed = new AtomicInteger();
        PrefixesAhead.Builder<Integer> onDevice = rows -> onDevice(rows, freed);
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(onDevice, 2)) {
            List.of(0, 1, 2, 3).forEach(ahead::add);
            ahead.await();
            assertThat(freed).hasValue(0);
            assertThat(ahead.drain()).containsExactly(0, 1, 2, 3);
            assertThat(freed).hasValue(1);
            List.of(4, 5).forEach(ahead::add);
            ahead.await();
            PrefixesAhead.Built<Integer> taken = ahead.take(1).get(0);
            ahead.close();
            assertThat(freed).as("row 5 released, row 4 taken").hasValue(1);
            taken.prefix().close();
            assertThat(freed).hasValue(2);
        }
    }
}
