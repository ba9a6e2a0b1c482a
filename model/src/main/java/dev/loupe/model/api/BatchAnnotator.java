package dev.loupe.model.api;

import java.util.List;

/**
 * The model runtime as the pipeline sees it: a batch of prepared inputs in, one outcome per input out, in the
 * same order. Implementations must be batch invariant (an input's outcome never depends on the other inputs of
 * its batch) and must report a bad input as that input's failure rather than throwing for the whole batch.
 * Not thread-safe: one instance per operator subtask.
 */
public interface BatchAnnotator extends AutoCloseable {

    List<AnnotationOutcome> annotate(List<AnnotationInput> batch);

    /** Receives an input's outcome (by its index in the inputs) as soon as it is known. */
    @FunctionalInterface
    interface OutcomeListener {
        void outcome(int index, AnnotationOutcome outcome);
    }

    /**
     * Annotates {@code inputs} with at most {@code maxActiveRows} of them decoding at once, handing each outcome to
     * {@code listener} as soon as it is known, in any order. A runtime with continuous batching lets a row join
     * the decoding rows at the step where another finishes, so short answers do not wait for long captions; each
     * outcome is the same as from {@link #annotate}. This default runs static batches of {@code maxActiveRows}.
     */
    default void annotateContinuously(List<AnnotationInput> inputs, int maxActiveRows, OutcomeListener listener) {
        if (maxActiveRows < 1) {
            throw new IllegalArgumentException("maxActiveRows must be >= 1, got " + maxActiveRows);
        }
        for (int from = 0; from < inputs.size(); from += maxActiveRows) {
            List<AnnotationOutcome> out = annotate(inputs.subList(from, Math.min(inputs.size(), from + maxActiveRows)));
            for (int i = 0; i < out.size(); i++) {
                listener.outcome(from + i, out.get(i));
            }
        }
    }

    /** {@link #annotateContinuously(List, int, OutcomeListener)} collecting the outcomes in input order. */
    default List<AnnotationOutcome> annotateContinuously(List<AnnotationInput> inputs, int maxActiveRows) {
        AnnotationOutcome[] out = new AnnotationOutcome[inputs.size()];
        annotateContinuously(inputs, maxActiveRows, (index, outcome) -> out[index] = outcome);
        return java.util.Arrays.asList(out);
    }

    /**
     * Annotates the requests of {@code feed} as they arrive, with at most {@code maxActiveRows} of them decoding at
     * once, handing each outcome to {@code listener} the moment it is known; returns when the feed ends and every
     * request taken has its outcome, or at the first step boundary after the feed is cancelled. A runtime with
     * continuous batching admits arriving requests at step boundaries ({@link #annotateContinuously}); this default
     * takes whatever has arrived, up to {@code maxActiveRows}, as one static batch at a time. Like the pipeline's
     * static path it isolates failures: a batch that throws is run again one request at a time, and a request that
     * throws alone gets an {@link ErrorCode#INFERENCE_FAILED} outcome. An {@link Error} propagates.
     */
    default <T> void annotateFed(AnnotationFeed<T> feed, int maxActiveRows, AnnotationFeed.Listener<T> listener)
            throws InterruptedException {
        if (maxActiveRows < 1) {
            throw new IllegalArgumentException("maxActiveRows must be >= 1, got " + maxActiveRows);
        }
        while (!feed.cancelled() && feed.awaitWork()) {
            List<T> group = feed.poll(maxActiveRows);
            if (!group.isEmpty()) {
                annotateIsolated(group, feed, listener);
            }
        }
    }

    /**
     * Annotates {@code group} together and hands on each outcome; if the batch throws, each request runs alone, and
     * one that throws alone gets an {@link ErrorCode#INFERENCE_FAILED} outcome.
     */
    default <T> void annotateIsolated(List<T> group, AnnotationFeed<T> feed, AnnotationFeed.Listener<T> listener) {
        List<AnnotationInput> inputs = group.stream().map(feed::input).toList();
        List<AnnotationOutcome> out = null;
        try {
            out = annotate(inputs);
        } catch (RuntimeException e) {
            // one of them is at fault: run each alone
        }
        if (out != null && out.size() == group.size()) {
            for (int i = 0; i < group.size(); i++) {
                listener.outcome(group.get(i), out.get(i));
            }
            return;
        }
        for (int i = 0; i < group.size(); i++) {
            AnnotationOutcome alone;
            try {
                List<AnnotationOutcome> single = annotate(List.of(inputs.get(i)));
                alone = single != null && single.size() == 1 ? single.get(0)
                        : AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, "the model returned no outcome");
            } catch (RuntimeException e) {
                alone = AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, "model failed on this request: " + e);
            }
            listener.outcome(group.get(i), alone);
        }
    }

    /** Identifies the model in results, e.g. the package name. */
    String modelId();

    /** Identifies the exact weights, e.g. the source checkpoint hash. */
    String modelVersion();

    /**
     * How often the model's image stage ran and reused features since it was loaded (shared by every handle on a
     * shared runtime); {@link VisionFeatureStats#NONE} for a model without one.
     */
    default VisionFeatureStats visionStats() {
        return VisionFeatureStats.NONE;
    }

    /**
     * Where annotation time went since the model was loaded (image side, language-model prefill and decode steps;
     * shared by every handle on a shared runtime); {@link GenerationSplit#NONE} for a runtime that does not measure it.
     */
    default GenerationSplit generationSplit() {
        return GenerationSplit.NONE;
    }

    /**
     * The bytes the language model's device-bound runner moved between host and device since it was loaded;
     * {@link HostTrafficStats#NONE} where the decoder runs through ONNX Runtime's Java API.
     */
    default HostTrafficStats hostTraffic() {
        return HostTrafficStats.NONE;
    }

    @Override
    void close();
}
