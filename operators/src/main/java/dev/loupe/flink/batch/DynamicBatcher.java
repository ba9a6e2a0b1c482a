package dev.loupe.flink.batch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * When the model takes its next batch, and which elements it holds. A batch is taken while the model is idle as soon
 * as the buffer holds {@code maxSize} elements, or when {@code maxDelay} has passed since its oldest element
 * arrived, or at end of input. While the model is busy nothing is taken: under backlog the buffer fills during the
 * running batch, so the next batch is full, and waiting then costs no latency since the model could not have started
 * it anyway. A batch may mix any requests (the model is batch invariant).
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

    private final int maxSize;
    private final long maxDelayMillis;
    private final List<Entry<T>> buffer = new ArrayList<>();

    public DynamicBatcher(int maxSize, Duration maxDelay) {
        checkSettings(maxSize, maxDelay);
        this.maxSize = maxSize;
        this.maxDelayMillis = maxDelay.toMillis();
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

    /** When the oldest element's delay expires; only meaningful when not empty. */
    public long deadline() {
        return buffer.get(0).enqueuedAt() + maxDelayMillis;
    }

    /** Whether an idle model should take a batch at {@code now}: full, or the oldest element's delay is over. */
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
        return new Batch<>(elements, waited);
    }

    /** The buffered elements in arrival order, for a checkpoint. */
    public List<Entry<T>> entries() {
        return List.copyOf(buffer);
    }

    /** Puts checkpointed entries back, in order, ahead of anything buffered since. */
    public void restore(List<Entry<T>> entries) {
        buffer.addAll(0, entries);
    }
}
