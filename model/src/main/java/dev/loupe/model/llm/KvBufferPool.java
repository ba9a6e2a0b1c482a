package dev.loupe.model.llm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct buffers (native byte order) for {@link SharedKvCache}s, handed back when a cache closes and reused by the next one of the
 * same size. Java frees direct memory only when the garbage collector finds the buffer unreachable, so a cache per
 * generation (at LLaMA-7B widths about 40 MB per layer for 16 rows) would otherwise pile up native memory between
 * collections and pay for zeroing every new buffer. The pool keeps at most as many bytes as were once in use at the
 * same time, so it never holds more than the peak the caches needed. Reused buffers are not cleared: a cache reads
 * only positions it has written. Thread-safe; one per loaded language model.
 */
final class KvBufferPool {
    private final Map<Integer, ArrayDeque<ByteBuffer>> free = new HashMap<>();
    private long inUse;
    private long peak;
    private long pooled;

    /** A buffer of exactly {@code size} bytes (position 0, limit = capacity, native byte order). */
    synchronized ByteBuffer take(int size) {
        ArrayDeque<ByteBuffer> same = free.get(size);
        ByteBuffer b = same == null ? null : same.poll();
        long bytes = size;
        if (b == null) {
            b = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
        } else {
            pooled -= bytes;
        }
        inUse += bytes;
        peak = Math.max(peak, inUse);
        return b.clear();
    }

    /** Hands a buffer from {@link #take} back; the caller must not use it any more. */
    synchronized void give(ByteBuffer b) {
        long bytes = b.capacity();
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
