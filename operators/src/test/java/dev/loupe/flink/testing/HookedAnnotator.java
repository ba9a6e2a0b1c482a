package dev.loupe.flink.testing;

import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import java.util.List;
import java.util.function.Consumer;

/** Test-only {@link TestAnnotator} that runs a hook on every batch (on the model's thread) before annotating it. */
public final class HookedAnnotator implements BatchAnnotator {
    private final TestAnnotator inner = new TestAnnotator();
    private final Consumer<List<AnnotationInput>> beforeBatch;

    public HookedAnnotator(Consumer<List<AnnotationInput>> beforeBatch) {
        this.beforeBatch = beforeBatch;
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        beforeBatch.accept(batch);
        return inner.annotate(batch);
    }

    @Override
    public String modelId() {
        return inner.modelId();
    }

    @Override
    public String modelVersion() {
        return inner.modelVersion();
    }

    @Override
    public void close() {}
}
