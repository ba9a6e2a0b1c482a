package dev.loupe.model.vlm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.llm.DeviceRows;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
        while (!ahead.built().isEmpty()) {
            PrefixesAhead.Built<Integer> b = ahead.built().poll();
            rows.add(b.failure() == null ? (int) b.prefix().rows()[0][0] : -1000);
        }
        return rows;
    }

    @Test
    void buildsOnTheCallersThreadInGroupsOfUpToMaxGroupInOrder() throws Exception {
        Recording builder = new Recording();
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(builder, 4, false)) {
            for (int r = 0; r < 6; r++) {
                ahead.add(r);
            }
            ahead.buildAhead(); // no thread: nothing starts
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
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(builder, 3, false)) {
            List.of(7, -1, 9).forEach(ahead::add);
            ahead.await();
            List<PrefixesAhead.Built<Integer>> built = new ArrayList<>(ahead.built());
            assertThat(built).extracting(PrefixesAhead.Built::row).containsExactly(7, -1, 9);
            assertThat(built.get(0).prefix().rows()[0][0]).isEqualTo(7f);
            assertThat(built.get(1).failure()).hasMessageContaining("bad row in [-1]");
            assertThat(built.get(1).prefix()).isNull();
            assertThat(built.get(2).prefix().rows()[0][0]).isEqualTo(9f);
            assertThat(builder.groups).containsExactly(List.of(7, -1, 9), List.of(7), List.of(-1), List.of(9));
        }
    }

    @Test
    void aBackgroundThreadBuildsTheNextGroupWhileTheCallerGoesOnAndDrainKeepsEveryRowInOrder() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Recording recording = new Recording();
        PrefixesAhead.Builder<Integer> blocking = rows -> {
            if (!release.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
            return recording.build(rows);
        };
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(blocking, 2, true)) {
            for (int r = 0; r < 5; r++) {
                ahead.add(r);
            }
            ahead.buildAhead(); // returns while the build waits for the latch
            assertThat(ahead.built()).isEmpty();
            assertThat(ahead.held()).isEqualTo(5);
            ahead.buildAhead(); // one build at a time
            release.countDown();
            ahead.await();
            assertThat(taken(ahead)).containsExactly(0, 1);
            assertThat(recording.threads).containsOnly("loupe-prefixes-ahead");

            ahead.buildAhead();
            assertThat(ahead.drain()).containsExactly(2, 3, 4);
            assertThat(ahead.isEmpty()).isTrue();
            assertThat(recording.groups).containsExactly(List.of(0, 1), List.of(2, 3));
        }
    }

    /**
     * Prefixes built and never taken are released — by drain (the loop falls back to static batches) and by close
     * (the loop ends) — so a device block of image outputs does not outlive its loop.
     */
    @Test
    void prefixesBuiltAndNotTakenAreReleasedByDrainAndClose() throws Exception {
        java.util.concurrent.atomic.AtomicInteger freed = new java.util.concurrent.atomic.AtomicInteger();
        PrefixesAhead.Builder<Integer> onDevice = rows -> {
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
        };
        try (PrefixesAhead<Integer> ahead = new PrefixesAhead<>(onDevice, 2, false)) {
            List.of(0, 1, 2, 3).forEach(ahead::add);
            ahead.await();
            assertThat(freed).hasValue(0);
            assertThat(ahead.drain()).containsExactly(0, 1, 2, 3);
            assertThat(freed).hasValue(1);
            List.of(4, 5).forEach(ahead::add);
            ahead.await();
            PrefixesAhead.Built<Integer> taken = ahead.built().poll();
            ahead.close();
            assertThat(freed).as("row 5 released, row 4 taken").hasValue(1);
            taken.prefix().close();
            assertThat(freed).hasValue(2);
        }
    }
}
