package dev.loupe.flink.batch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * When the model takes its next batch, and which elements it holds. A batch is taken while the model is idle as soon
 * as the buffer holds {@code maxSize} elements, or when {@code maxDelay} has passed (counted as its {@link Fill}
 * says: since the oldest element arrived, or since the latest one did), or at end of input. While the model is busy
 * nothing is taken: under backlog the buffer fills during the running batch, so the next batch is full, and waiting
 * then costs no latency since the model could not have started it anyway. A batch may mix any requests (the model
 * is batch invariant).
 *
 * <p>Plain Java and single-threaded: the Flink operator that owns it ({@code BatchInferenceOperator}) calls it from its
 * task thread, checkpoints {@link #entries()} and restores them with {@link #restore}.
 */
public final class DynamicBatcher<T> {

    /** The configuration keys of {@code maxSize} and {@code maxDelay}, named in validation messages. */
    public static final String MAX_SIZE_KEY = "batch.max-size";
    public static final String MAX_DELAY_KEY = "batch.max-delay";

    /** A buffered element and the processing time it arrived at. */
    public record Entry<T>(T element, long enqueuedAt) {}

    /** What {@code maxDelay} counts from when an idle model waits for a partial batch to fill. */
    public enum Fill {
        /**
         * From the oldest element's arrival: no request waits longer than the delay for its batch to start (the
         * streaming job's latency bound; a backlog that arrives more slowly than the delay, e.g. the first images
         * of a job still being decoded, starts partial batches).
         */
        OLDEST_WAITED,
        /**
         * From the latest element's arrival: a partial batch starts once the input pauses for the delay. Under a
         * backlog (elements arriving closer together than the delay) every batch but the last is full; for bounded
         * jobs, whose input is all there, where a batch's size matters and a request's wait does not.
         */
        INPUT_PAUSED
    }

    private final int maxSize;
    private final long maxDelayMillis;
    private final Fill fill;
    private final List<Entry<T>> buffer = new ArrayList<>();
    /** The latest arrival among the buffered elements (processing time). */
    private long latestArrival = Long.MIN_VALUE;

    public DynamicBatcher(int maxSize, Duration maxDelay) {
        this(maxSize, maxDelay, Fill.OLDEST_WAITED);
    }

    public DynamicBatcher(int maxSize, Duration maxDelay, Fill fill) {
        checkSettings(maxSize, maxDelay);
        this.maxSize = maxSize;
        this.maxDelayMillis = maxDelay.toMillis();
        this.fill = java.util.Objects.requireNonNull(fill, "fill");
    }

    /** @throws IllegalArgumentException when {@code maxSize < 1} or {@code maxDelay} is null or negative */
    public static void checkSettings(int maxSize, Duration maxDelay) {
        if (maxSize < 1) {
            throw new IllegalArgumentException(MAX_SIZE_KEY + " must be >= 1, got " + maxSize);
        }
        if (maxDelay == null || maxDelay.isNegative()) {
            throw new IllegalArgumentException(MAX_DELAY_KEY + " must be >= 0, got " + maxDelay);
        }
    }

    public int maxSize() {
        return maxSize;
    }

    /** Buffers {@code element}, arrived at processing time {@code now}. */
    public void add(T element, long now) {
        buffer.add(new Entry<>(element, now));
        latestArrival = Math.max(latestArrival, now);
    }

    public int size() {
        return buffer.size();
    }

    public boolean isEmpty() {
        return buffer.isEmpty();
    }

    /** Whether the buffer holds a whole batch (the owner stops taking input while the model is busy). */
    public boolean isFull() {
        return buffer.size() >= maxSize;
    }

    /**
     * When an idle model takes a partial batch: the delay after the oldest element's arrival, or after the latest's
     * under {@link Fill#INPUT_PAUSED}; only meaningful when not empty.
     */
    public long deadline() {
        return (fill == Fill.INPUT_PAUSED ? latestArrival : buffer.get(0).enqueuedAt()) + maxDelayMillis;
    }

    /** Whether an idle model should take a batch at {@code now}: full, or the {@link #deadline()} has passed. */
    public boolean ready(long now) {
        return !buffer.isEmpty() && (isFull() || now >= deadline());
    }

    /** Removes and returns the oldest elements, at most {@code maxSize}, with how long each waited until {@code now}. */
    public Batch<T> take(long now) {
        int n = Math.min(maxSize, buffer.size());
        List<Entry<T>> taken = buffer.subList(0, n);
        List<T> elements = new ArrayList<>(n);
        long[] waited = new long[n];
        for (int i = 0; i < n; i++) {
            elements.add(taken.get(i).element());
            waited[i] = Math.max(0, now - taken.get(i).enqueuedAt());
        }
        taken.clear();
        latestArrival = Long.MIN_VALUE;
        for (Entry<T> e : buffer) {
            latestArrival = Math.max(latestArrival, e.enqueuedAt());
        }
        return new Batch<>(elements, waited);
    }

    /** The buffered elements in arrival order, for a checkpoint. */
    public List<Entry<T>> entries() {
        return List.copyOf(buffer);
    }

    /** Puts checkpointed entries back, in order, ahead of anything buffered since. */
    public void restore(List<Entry<T>> entries) {
        buffer.addAll(0, entries);
        for (Entry<T> e : entries) {
            latestArrival = Math.max(latestArrival, e.enqueuedAt());
        }
    }
}
