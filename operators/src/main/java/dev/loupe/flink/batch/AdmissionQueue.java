package dev.loupe.flink.batch;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The requests waiting to join a continuous decode loop, handed from the operator's task thread to the model thread.
 * The batcher's settings map onto admission: while rows decode, the loop takes whatever has arrived at each step
 * boundary (up to its free rows); an idle loop starts once {@code maxSize} requests wait, or once the oldest has
 * waited {@code maxDelay} (to fill its first prefill), or at end of input. The queue does not bound itself: the
 * operator stops taking input while it holds too many requests (waiting plus decoding).
 *
 * <p>Thread-safe (one monitor): {@link #offer}, {@link #end} and {@link #cancel} from the task thread,
 * {@link #poll} and {@link #awaitWork} from the model thread.
 */
public final class AdmissionQueue<T> {

    private record Waiting<T>(T element, long enqueuedAt) {}

    private final int maxSize;
    private final long maxDelayMillis;
    private final LongSupplier clock;
    private final ArrayDeque<Waiting<T>> queue = new ArrayDeque<>();
    private boolean ended;
    private volatile boolean cancelled;

    /**
     * @param clock milliseconds, the clock of the {@code enqueuedAt} times given to {@link #offer}
     * @throws IllegalArgumentException when {@code maxSize < 1} or {@code maxDelay} is null or negative
     */
    public AdmissionQueue(int maxSize, Duration maxDelay, LongSupplier clock) {
        DynamicBatcher.checkSettings(maxSize, maxDelay);
        this.maxSize = maxSize;
        this.maxDelayMillis = maxDelay.toMillis();
        this.clock = clock;
    }

    /** Adds {@code element}, which arrived at {@code enqueuedAt} (restored requests keep their arrival time). */
    public synchronized void offer(T element, long enqueuedAt) {
        if (ended) {
            throw new IllegalStateException("offer after end of input");
        }
        queue.add(new Waiting<>(element, enqueuedAt));
        notifyAll();
    }

    /** No more requests will come: an idle loop takes what waits at once, and the feed ends when it is empty. */
    public synchronized void end() {
        ended = true;
        notifyAll();
    }

    /** Stops the loop at its next step boundary (the task is closing; what it holds is in the checkpoint). */
    public synchronized void cancel() {
        cancelled = true;
        notifyAll();
    }

    public boolean cancelled() {
        return cancelled;
    }

    public synchronized int size() {
        return queue.size();
    }

    /** Takes up to {@code max} waiting requests, oldest first, without waiting. */
    public synchronized List<T> poll(int max) {
        List<T> taken = new ArrayList<>(Math.min(Math.max(max, 0), queue.size()));
        while (taken.size() < max && !queue.isEmpty()) {
            taken.add(queue.poll().element());
        }
        return taken;
    }

    /**
     * Waits until an idle loop should start: {@code maxSize} requests wait, or the oldest waited {@code maxDelay},
     * or input ended with requests waiting.
     *
     * @return false when input ended and nothing waits, or the queue was cancelled
     */
    public synchronized boolean awaitWork() throws InterruptedException {
        while (!cancelled) {
            if (queue.isEmpty()) {
                if (ended) {
                    return false;
                }
                wait();
                continue;
            }
            long left = queue.peek().enqueuedAt() + maxDelayMillis - clock.getAsLong();
            if (ended || queue.size() >= maxSize || left <= 0) {
                return true;
            }
            wait(left);
        }
        return false;
    }
}
