package dev.loupe.model;

import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.VisionFeatureStats;
import java.util.List;

/**
 * A lightweight per-holder handle (one per operator subtask) on a {@link SharedRuntimes} annotator that many
 * handles use at once: annotate calls go to the shared, thread-safe runtime; {@link #close()} drops this handle's
 * reference, and the last one releases the sessions.
 */
public final class SharedAnnotator implements BatchAnnotator {
    private final SharedRuntimes.Lease<? extends BatchAnnotator> lease;

    public SharedAnnotator(SharedRuntimes.Lease<? extends BatchAnnotator> lease) {
        this.lease = lease;
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        return lease.get().annotate(batch);
    }

    @Override
    public void annotateContinuously(List<AnnotationInput> inputs, int maxActiveRows, OutcomeListener listener) {
        lease.get().annotateContinuously(inputs, maxActiveRows, listener);
    }

    @Override
    public <T> void annotateFed(AnnotationFeed<T> feed, int maxActiveRows,
                                   AnnotationFeed.Listener<T> listener) throws InterruptedException {
        lease.get().annotateFed(feed, maxActiveRows, listener);
    }

    @Override
    public String modelId() {
        return lease.get().modelId();
    }

    @Override
    public String modelVersion() {
        return lease.get().modelVersion();
    }

    @Override
    public VisionFeatureStats visionStats() {
        return lease.get().visionStats();
    }

    @Override
    public GenerationSplit generationSplit() {
        return lease.get().generationSplit();
    }

    @Override
    public HostTrafficStats hostTraffic() {
        return lease.get().hostTraffic();
    }

    /** The shared runtime behind this handle (the same object for every handle on one key). */
    public BatchAnnotator runtime() {
        return lease.get();
    }

    @Override
    public void close() {
        lease.close();
    }
}
