package dev.loupe.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct, native-order float buffers reused from one graph run to the next. ONNX Runtime reads an input tensor made
 * over a direct buffer in place and writes a pinned output into one, so a run's large inputs and outputs (an image
 * batch's pixels, the vision features) neither go through a heap array that the Java API copies into fresh native
 * memory on every run, nor leave garbage whose collection pauses a later run. A buffer too small for a request is
 * dropped and a larger one made, so each pool converges to its largest request. Thread-safe: concurrent callers
 * each lease their own buffer; at most {@code maxIdle} idle buffers are kept.
 */
public final class DirectFloatPool {
    private final int maxIdle;
    private final ConcurrentLinkedDeque<FloatBuffer> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();

    public DirectFloatPool(int maxIdle) {
        if (maxIdle < 1) {
            throw new IllegalArgumentException("maxIdle must be >= 1, got " + maxIdle);
        }
        this.maxIdle = maxIdle;
    }

    /** A buffer of exactly {@code floats} elements (position 0), the caller's until it closes the lease. */
    public Lease take(int floats) {
        if (floats < 0) {
            throw new IllegalArgumentException("floats must be >= 0, got " + floats);
        }
        FloatBuffer whole = idle.pollFirst();
        if (whole != null) {
            idleCount.decrementAndGet();
        }
        if (whole == null || whole.capacity() < floats) {
            whole = ByteBuffer.allocateDirect(Math.max(1, floats) * Float.BYTES).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
        }
        return new Lease(whole, whole.clear().limit(floats).slice());
    }

    /** Idle buffers held now. */
    public int idle() {
        return idleCount.get();
    }

    /** A leased buffer; closing it gives the buffer back (once). */
    public final class Lease implements AutoCloseable {
        private final FloatBuffer whole;
        private final FloatBuffer view;
        private boolean closed;

        private Lease(FloatBuffer whole, FloatBuffer view) {
            this.whole = whole;
            this.view = view;
        }

        /** The leased elements, position 0, limit = the requested size; valid until {@link #close()}. */
        public FloatBuffer buffer() {
            return view;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (idleCount.incrementAndGet() <= maxIdle) {
                idle.offerFirst(whole);
            } else {
                idleCount.decrementAndGet();
            }
        }
    }
}
