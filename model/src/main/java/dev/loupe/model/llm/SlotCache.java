package dev.loupe.model.llm;

/**
 * A KV cache of slots that a decoder run reads and writes in place (GroupQueryAttention's shared past/present
 * buffer): {@link SharedKvCache} in host memory for ONNX Runtime's Java API, {@link DeviceKvCache} in the execution
 * provider's memory for {@link DeviceBoundDecoder}. Slot i's cached positions are its first {@link #length} columns;
 * rows join by a prefill written into free slots and leave by {@link #moveRow}/{@link #select}. Not thread-safe;
 * belongs to one generation.
 */
abstract class SlotCache implements AutoCloseable {

    public abstract int slots();

    /** Positions each slot holds now (grows on demand). */
    public abstract int capacity();

    /** The most positions a slot can hold (the model's position table). */
    public abstract int maxCapacity();

    /** Positions cached in {@code slot}. */
    public abstract int length(int slot);

    abstract void setLength(int slot, int length);

    /** Makes room for at least {@code minSlots} slots of {@code minCapacity} positions, keeping what is cached. */
    abstract void ensure(int minSlots, int minCapacity);

    /** Slot {@code to} becomes a copy of slot {@code from}. */
    abstract void moveRow(int from, int to);

    /** Slot i becomes what slot {@code rows[i]} holds, for every i (repeats allowed); later slots keep nothing. */
    abstract void select(int[] rows);

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
