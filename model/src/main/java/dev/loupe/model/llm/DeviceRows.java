package dev.loupe.model.llm;

import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.Pointer;

/**
 * A block of image-side output left in the execution provider's memory for the decoder's prefill: float32
 * [rows, positions, width], row i being one image's (or one row's) prefix part, shared by the {@link VisualPrefix}es
 * that read it. Reference counted: whoever allocates it holds the first reference, each prefix over one of its rows
 * another; the block goes back to its allocator ({@code free}) when the last is released, so a request's image
 * output lives exactly as long as its generation needs it. Thread-safe.
 */
public final class DeviceRows {
    private final Pointer base;
    private final int rows;
    private final int positions;
    private final int width;
    private final Runnable free;
    private final AtomicInteger references = new AtomicInteger(1);

    /**
     * @param base      the block, {@code rows * positions * width} floats in the device's memory
     * @param free      returns the block to its allocator; run once, when the last reference is released
     */
    public DeviceRows(Pointer base, int rows, int positions, int width, Runnable free) {
        if (rows < 1 || positions < 1 || width < 1) {
            throw new IllegalArgumentException("device rows of shape [" + rows + ", " + positions + ", " + width + "]");
        }
        this.base = base;
        this.rows = rows;
        this.positions = positions;
        this.width = width;
        this.free = free;
    }

    /** The block (valid while a reference is held). */
    public Pointer base() {
        if (references.get() <= 0) {
            throw new IllegalStateException("device rows read after their release");
        }
        return base;
    }

    public int rows() {
        return rows;
    }

    /** Prefix positions per row. */
    public int positions() {
        return positions;
    }

    /** Floats per position. */
    public int width() {
        return width;
    }

    /** Floats in the block. */
    long floats() {
        return (long) rows * positions * width;
    }

    /** Takes one more reference. */
    void retain() {
        references.updateAndGet(n -> {
            if (n <= 0) {
                throw new IllegalStateException("device rows retained after their release");
            }
            return n + 1;
        });
    }

    /** Gives one reference back; the last frees the block. */
    public void release() {
        int left = references.decrementAndGet();
        if (left == 0) {
            free.run();
        } else if (left < 0) {
            throw new IllegalStateException("device rows released more often than retained");
        }
    }
}
