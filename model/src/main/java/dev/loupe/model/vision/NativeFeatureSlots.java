package dev.loupe.model.vision;

import com.sun.jna.Memory;

/**
 * Equal-size slots of floats in one native region: where {@link VisionFeatureCache} keeps its features, so that the
 * garbage collector never copies or compacts them. Held on the heap, a stream of distinct images promoted every
 * entry to the old generation, where it died, and full collections compacted the whole cache again and again
 * (docs/benchmarks.md, "The vision feature cache off the heap"). One region for all slots, allocated once and freed
 * by {@link #close()} (not left to the collector, as a direct buffer per entry would be). Pages are touched only as
 * slots are first written, lowest slot first, so the resident memory grows with what is held. Not thread-safe: its
 * owner serialises every call.
 */
final class NativeFeatureSlots implements AutoCloseable {
    private final int slotFloats;
    /** Free slot indices, a stack whose top is the lowest slot never used or the last one released. */
    private final int[] free;
    private int freeCount;
    private Memory region;

    /**
     * @throws OutOfMemoryError when the native region cannot be allocated
     */
    NativeFeatureSlots(int slotFloats, int slots) {
        if (slotFloats < 1 || slots < 1) {
            throw new IllegalArgumentException("need at least one slot of at least one float, got " + slots
                    + " slots of " + slotFloats);
        }
        this.slotFloats = slotFloats;
        this.region = new Memory((long) slotFloats * Float.BYTES * slots);
        this.free = new int[slots];
        for (int i = 0; i < slots; i++) {
            free[i] = slots - 1 - i;
        }
        this.freeCount = slots;
    }

    /** The longest features a slot holds. */
    int slotFloats() {
        return slotFloats;
    }

    int slots() {
        return free.length;
    }

    boolean hasFree() {
        return freeCount > 0;
    }

    /** A free slot, now the caller's until {@link #release}. */
    int take() {
        if (freeCount == 0) {
            throw new IllegalStateException("no free slot");
        }
        return free[--freeCount];
    }

    void release(int slot) {
        checkSlot(slot);
        if (freeCount == free.length) {
            throw new IllegalStateException("slot " + slot + " released twice");
        }
        free[freeCount++] = slot;
    }

    /** Copies {@code features} (at most {@link #slotFloats()}) into {@code slot}. */
    void write(int slot, float[] features) {
        checkSlot(slot);
        if (features.length > slotFloats) {
            throw new IllegalArgumentException(features.length + " floats do not fit a slot of " + slotFloats);
        }
        live().write(offset(slot), features, 0, features.length);
    }

    /** A fresh array of the first {@code floats} floats of {@code slot}. */
    float[] read(int slot, int floats) {
        checkSlot(slot);
        if (floats < 0 || floats > slotFloats) {
            throw new IllegalArgumentException(floats + " floats is not within a slot of " + slotFloats);
        }
        float[] out = new float[floats];
        live().read(offset(slot), out, 0, floats);
        return out;
    }

    /** Native bytes reserved (resident only where slots were written). */
    long regionBytes() {
        return (long) slotFloats * Float.BYTES * free.length;
    }

    boolean closed() {
        return region == null;
    }

    /** Frees the region; any later read or write is refused. Idempotent. */
    @Override
    public void close() {
        if (region != null) {
            region.close();
            region = null;
        }
    }

    private Memory live() {
        if (region == null) {
            throw new IllegalStateException("the feature slots are closed");
        }
        return region;
    }

    private long offset(int slot) {
        return (long) slot * slotFloats * Float.BYTES;
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= free.length) {
            throw new IndexOutOfBoundsException("slot " + slot + " of " + free.length);
        }
    }
}
