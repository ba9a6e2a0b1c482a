package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The per-run bookkeeping both slot decoders share ({@link SlotRun}) and the slot lengths {@link SlotCache} keeps
 * through growing, moving and reordering rows, over a cache whose buffers record what was asked of them.
 */
class SlotRunTest {

    /** The buffer operations a subclass is asked for, in order; lengths are the base class's. */
    private static final class RecordingCache extends SlotCache {
        final List<String> calls = new ArrayList<>();
        int slots;
        int capacity;

        RecordingCache(int slots, int capacity) {
            super(slots);
            this.slots = slots;
            this.capacity = capacity;
        }

        @Override
        public int slots() {
            return slots;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        @Override
        public int maxCapacity() {
            return 256;
        }

        @Override
        void grow(int newSlots, int newCapacity) {
            calls.add("grow " + newSlots + "x" + newCapacity + " keeping " + length(0));
            slots = newSlots;
            capacity = newCapacity;
        }

        @Override
        void copyRow(int from, int to) {
            calls.add("copy " + from + "->" + to + " of " + length(from));
        }

        @Override
        void gather(int[] rows) {
            calls.add("gather " + java.util.Arrays.toString(rows));
        }

        @Override
        public void close() {}
    }

    @Test
    void aPrefillReadsEachRowAtItsLastPositionAndTheLongestIsTheTotal() {
        SlotRun run = SlotRun.prefill(2, VisualPrefix.onHost(List.of(new float[3][4], new float[5][4])));
        assertThat(run.first()).isEqualTo(2);
        assertThat(run.rows()).isEqualTo(2);
        assertThat(run.seq()).isEqualTo(5);
        assertThat(run.total()).isEqualTo(5);
        assertThat(run.seqlensK()).containsExactly(2, 4);
        assertThat(run.logitPositions()).containsExactly(2, 4);
        RecordingCache cache = new RecordingCache(2, 32);
        run.reserve(cache);
        assertThat(cache.calls).containsExactly("grow 4x32 keeping 0");
        run.commit(cache);
        assertThat(cache.length(2)).isEqualTo(3);
        assertThat(cache.length(3)).isEqualTo(5);
        assertThatThrownBy(() -> SlotRun.prefill(0, List.of(VisualPrefix.onHost(new float[0][4])))).hasMessageContaining("empty");
    }

    @Test
    void aFeedContinuesEachRowAfterItsOwnLength() {
        RecordingCache cache = new RecordingCache(2, 32);
        cache.setLength(0, 7);
        cache.setLength(1, 4);
        SlotRun last = SlotRun.feed(cache, 0, 2, 3, 1);
        assertThat(last.seqlensK()).containsExactly(9, 6);
        assertThat(last.total()).isEqualTo(10);
        assertThat(last.logitPositions()).containsExactly(2, 2);
        SlotRun every = SlotRun.feed(cache, 1, 1, 3, 3);
        assertThat(every.logitPositions()).containsExactly(0, 1, 2);
        assertThat(every.seqlensK()).containsExactly(6);
        every.commit(cache);
        assertThat(cache.length(1)).isEqualTo(7);
        assertThatThrownBy(() -> SlotRun.feed(cache, 0, 1, 2, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void lengthsFollowRowsThroughMovesReordersAndGrowth() {
        RecordingCache cache = new RecordingCache(3, 32);
        cache.setLength(0, 5);
        cache.setLength(1, 6);
        cache.setLength(2, 7);
        cache.select(new int[] {0, 2}); // row 1 finished: row 2 moves into its slot
        assertThat(cache.calls).containsExactly("copy 2->1 of 7");
        assertThat(new int[] {cache.length(0), cache.length(1), cache.length(2)}).containsExactly(5, 7, 0);
        cache.calls.clear();
        cache.select(new int[] {1, 1, 0, 0}); // beams: repeats and a reorder, with a fourth slot
        assertThat(cache.calls).containsExactly("grow 4x32 keeping 5", "gather [1, 1, 0, 0]");
        assertThat(new int[] {cache.length(0), cache.length(1), cache.length(2), cache.length(3)})
                .containsExactly(7, 7, 5, 5);
        assertThatThrownBy(() -> cache.setLength(0, 33)).hasMessageContaining("capacity");
        assertThatThrownBy(() -> cache.ensure(1, 300)).hasMessageContaining("exceeds");
    }
}
