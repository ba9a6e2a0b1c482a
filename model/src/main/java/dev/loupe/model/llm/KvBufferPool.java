package dev.loupe.model.llm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct float buffers for {@link SharedKvCache}s, handed back when a cache closes and reused by the next one of the
 * same size. Java frees direct memory only when the garbage collector finds the buffer unreachable, so a cache per
 * generation (at LLaMA-7B widths about 40 MB per layer for 16 rows) would otherwise pile up native memory between
 * collections and pay for zeroing every new buffer. The pool keeps at most as many bytes as were once in use at the
 * same time, so it never holds more than the peak the caches needed. Reused buffers are not cleared: a cache reads
 * only positions it has written. Thread-safe; one per loaded language model.
 */
final class KvBufferPool {
    private final Map<Integer, ArrayDeque<FloatBuffer>> free = new HashMap<>();
    private long inUse;
    private long peak;
    private long pooled;

    /** A buffer of exactly {@code floats} floats (position 0, limit = capacity). */
    synchronized FloatBuffer take(int floats) {
        ArrayDeque<FloatBuffer> same = free.get(floats);
        FloatBuffer b = same == null ? null : same.poll();
        long bytes = (long) floats * Float.BYTES;
        if (b == null) {
            b = ByteBuffer.allocateDirect(Math.multiplyExact(floats, Float.BYTES)).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
        } else {
            pooled -= bytes;
        }
        inUse += bytes;
        peak = Math.max(peak, inUse);
        return b.clear();
    }

    /** Hands a buffer from {@link #take} back; the caller must not use it any more. */
    synchronized void give(FloatBuffer b) {
        long bytes = (long) b.capacity() * Float.BYTES;
        inUse -= bytes;
        if (pooled + bytes <= peak) {
            free.computeIfAbsent(b.capacity(), k -> new ArrayDeque<>()).push(b);
            pooled += bytes;
        }
    }

    /** Bytes kept for reuse now. */
    synchronized long pooledBytes() {
        return pooled;
    }
}
