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
