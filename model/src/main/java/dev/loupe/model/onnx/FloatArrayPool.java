package dev.loupe.model.onnx;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Heap float arrays recycled by length, for the large per-image arrays that live longer than the young generation
 * holds them: a preprocessed image from its preprocessing until its batch has run, an image's vision features from
 * the vision run until the Q-Former has read them. Allocated per image, each was copied into the old generation by a
 * young collection that caught it in flight and freed there by a full one; recycled, the same arrays serve the whole
 * run (docs/benchmarks.md, issue 13). A taker owns what {@link #take} returns until it hands it to {@link #give},
 * after which no one may read or write it. At most {@code maxBytes} of idle arrays are kept (the rest are left to
 * the collector). Thread-safe.
 */
public final class FloatArrayPool {
    private final long maxBytes;
    private final Map<Integer, Deque<float[]>> idle = new HashMap<>();
    private long idleBytes;
    private long taken;
    private long reused;

    /** @throws IllegalArgumentException when {@code maxBytes} is negative */
    public FloatArrayPool(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /** An array of {@code length} values (its contents are arbitrary): an idle one when there is, else a new one. */
    public float[] take(int length) {
        synchronized (this) {
            taken++;
            Deque<float[]> arrays = idle.get(length);
            float[] array = arrays == null ? null : arrays.pollFirst();
            if (array != null) {
                idleBytes -= bytes(array);
                reused++;
                return array;
            }
        }
        return new float[length];
    }

    /** Gives {@code array} back for a later {@link #take}; kept only while the idle arrays stay within the bound. */
    public synchronized void give(float[] array) {
        if (array == null || idleBytes + bytes(array) > maxBytes) {
            return;
        }
        idle.computeIfAbsent(array.length, n -> new ArrayDeque<>()).addFirst(array);
        idleBytes += bytes(array);
    }

    /** Bytes held in idle arrays. */
    public synchronized long idleBytes() {
        return idleBytes;
    }

    /** Arrays taken so far, and how many of them were recycled ones. */
    public synchronized long[] takenAndReused() {
        return new long[] {taken, reused};
    }

    private static long bytes(float[] array) {
        return (long) array.length * Float.BYTES;
    }
}
