package dev.loupe.flink.inference;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The float arrays of preprocessed images, recycled once their batch has run. A 224x224 tensor is 600 KB and lives
 * from its preprocessing until its batch has run, a batch filling while another computes: longer than the young
 * generation holds it, so each was copied into the old generation and collected there by full collections. Recycled,
 * the same arrays serve the whole run and nothing that large is allocated per image (issue 13: a caption run's GC
 * CPU per image about a quarter lower). {@link PreprocessFunction} takes arrays with {@link #take}, {@link BatchInferenceOperator}
 * gives a batch's back with {@link #give} once its outcomes are out; an array given back must no longer be read by
 * anyone. The pool keeps at most {@code maxBytes} of idle arrays (the rest are left to the collector) and is shared
 * by the subtasks of a JVM ({@link #SHARED}): the operators of one chain hand elements over by reference (object
 * reuse), so an array taken by one is given back by the other; an array that went through a serializer instead is a
 * copy, given back as any other.
 */
public final class PixelBuffers {
    /** The JVM's pool: 64 MiB of idle arrays at most (47 tensors of 336x336, 111 of 224x224). */
    public static final PixelBuffers SHARED = new PixelBuffers(64L << 20);

    private final long maxBytes;
    private final Map<Integer, Deque<float[]>> idle = new HashMap<>();
    private long idleBytes;
    private long taken;
    private long reused;

    /** @throws IllegalArgumentException when {@code maxBytes} is negative */
    public PixelBuffers(long maxBytes) {
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
