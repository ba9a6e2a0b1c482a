package dev.loupe.model.llm;

import java.util.Arrays;

/**
 * A KV cache of slots that a decoder run reads and writes in place (GroupQueryAttention's shared past/present
 * buffer): {@link SharedKvCache} in host memory for ONNX Runtime's Java API, {@link DeviceKvCache} in the execution
 * provider's memory for {@link DeviceBoundDecoder}. Slot i's cached positions are its first {@link #length} columns;
 * rows join by a prefill written into free slots and leave by {@link #moveRow}/{@link #select}. Not thread-safe;
 * belongs to one generation.
 */
abstract class SlotCache implements AutoCloseable {
    /** Positions cached per slot: the bookkeeping both layouts share (the buffers are the subclass's). */
    private int[] lengths;

    SlotCache(int slots) {
        if (slots < 1) {
            throw new IllegalArgumentException("a slot cache needs at least one slot, got " + slots);
        }
        this.lengths = new int[slots];
    }

    public abstract int slots();

    /** Positions each slot holds now (grows on demand). */
    public abstract int capacity();

    /** The most positions a slot can hold (the model's position table). */
    public abstract int maxCapacity();

    /** Positions cached in {@code slot}. */
    public final int length(int slot) {
        return lengths[slot];
    }

    final void setLength(int slot, int length) {
        if (length < 0 || length > capacity()) {
            throw new IllegalArgumentException("slot length " + length + " outside capacity " + capacity());
        }
        lengths[slot] = length;
    }

    /**
     * Makes room for at least {@code minSlots} slots of {@code minCapacity} positions, keeping what is cached
     * (capacity at least doubles, so growing one token at a time costs amortised constant time).
     */
    final void ensure(int minSlots, int minCapacity) {
        int newCapacity = grownCapacity(capacity(), minCapacity, maxCapacity());
        if (minSlots <= slots() && minCapacity <= capacity()) {
            return;
        }
        int newSlots = Math.max(slots(), minSlots);
        grow(newSlots, newCapacity);
        lengths = Arrays.copyOf(lengths, newSlots);
    }

    /** Slot {@code to} becomes a copy of slot {@code from} (its cached positions). */
    final void moveRow(int from, int to) {
        if (from == to) {
            return;
        }
        copyRow(from, to);
        lengths[to] = lengths[from];
    }

    /**
     * Slot i becomes what slot {@code rows[i]} holds, for every i (repeats allowed, e.g. beams); slots from
     * rows.length on keep nothing. Rows that stay where they are are not copied; an increasing selection (rows
     * that finished dropped) moves each later row once, in place.
     */
    final void select(int[] rows) {
        int sources = slots();
        ensure(rows.length, capacity());
        if (increasing(rows, sources)) { // each source lies at or after its target and after every earlier target
            for (int i = 0; i < rows.length; i++) {
                moveRow(rows[i], i);
            }
        } else {
            int[] newLengths = new int[slots()];
            for (int i = 0; i < rows.length; i++) {
                newLengths[i] = lengths[rows[i]];
            }
            gather(rows);
            lengths = newLengths;
        }
        Arrays.fill(lengths, rows.length, slots(), 0);
    }

    /**
     * New buffers of {@code newSlots} slots of {@code newCapacity} positions (neither smaller than now), each slot
     * keeping its cached positions ({@link #length} still gives the old slots' lengths).
     */
    abstract void grow(int newSlots, int newCapacity);

    /** The buffers' slot {@code to} becomes a copy of slot {@code from} ({@link #length} of {@code from} positions). */
    abstract void copyRow(int from, int to);

    /**
     * The buffers' slot i becomes what slot {@code rows[i]} holds, for every i, the shape kept ({@link #length}
     * still gives the old slots' lengths); a selection that is not {@link #increasing} (so not in place).
     */
    abstract void gather(int[] rows);

    /** Frees the cache's memory (or hands it back for reuse); the cache is unusable after. */
    @Override
    public abstract void close();

    /** Capacities are multiples of this many positions, so that caches of similar generations reuse buffers. */
    static final int CAPACITY_STEP = 32;

    static int roundUp(int positions) {
        return (positions + CAPACITY_STEP - 1) / CAPACITY_STEP * CAPACITY_STEP;
    }

    /** The capacity to grow to for {@code minCapacity} from {@code capacity}: at least double, rounded, bounded. */
    static int grownCapacity(int capacity, int minCapacity, int maxCapacity) {
        if (minCapacity > maxCapacity) {
            throw new IllegalArgumentException("sequence of " + minCapacity + " positions exceeds the model's "
                    + maxCapacity);
        }
        return minCapacity <= capacity ? capacity : Math.min(maxCapacity, roundUp(Math.max(minCapacity, 2 * capacity)));
    }

    /** Whether {@code rows} keeps each row at or before its source, in order (then moves suffice, in place). */
    static boolean increasing(int[] rows, int sources) {
        boolean increasing = true;
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= sources) {
                throw new IllegalArgumentException("row " + rows[i] + " outside " + sources + " slots");
            }
            increasing &= rows[i] >= i && (i == 0 || rows[i] > rows[i - 1]);
        }
        return increasing;
    }
}
