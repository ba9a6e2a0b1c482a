package dev.loupe.model.api;

import java.util.List;

/**
 * The inputs of a continuous annotation that a stream feeds while it runs ({@link BatchAnnotator#annotateFed}): the
 * generation loop takes what has arrived at each step boundary, so a request joins the rows already decoding
 * instead of waiting for them. The feed decides how long an idle loop waits before it starts (to fill its first
 * prefill) and bounds what it holds; the loop only takes. Thread-safe: a producer thread offers, the model thread
 * takes.
 *
 * @param <T> the caller's request, handed back with its outcome
 */
public interface AnnotationFeed<T> {

    /** Takes up to {@code max} of the requests that have arrived, oldest first, without waiting; none: empty. */
    List<T> poll(int max);

    /**
     * Called by a loop with nothing to do: waits until {@link #poll} has something worth starting on (the feed's
     * policy: a whole group, or the oldest request waited long enough, or no more will come).
     *
     * @return false when the feed ended (no more requests) and nothing is left, or it was cancelled
     */
    boolean awaitWork() throws InterruptedException;

    /** True once the loop should stop at its next step boundary, dropping the rows it holds (the caller keeps them). */
    boolean cancelled();

    /** The model input of {@code request}. */
    AnnotationInput input(T request);

    /** Receives each request's outcome the moment it is known, on the model's thread, in any order. */
    @FunctionalInterface
    interface Listener<T> {
        void outcome(T request, AnnotationOutcome outcome);
    }
}
