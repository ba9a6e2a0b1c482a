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

    @Override
    void close();
}
