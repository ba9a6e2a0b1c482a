package dev.loupe.model.vlm;

import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.VisionFeatureStats;
import java.util.List;

/**
 * A family's annotator is its loading code and parity hooks around one {@link PrefixLanguageModelAnnotator}, which
 * does the work; this class is that delegation, written once.
 */
public abstract class DelegatingAnnotator implements BatchAnnotator {
    private final PrefixLanguageModelAnnotator<?> annotator;

    protected DelegatingAnnotator(PrefixLanguageModelAnnotator<?> annotator) {
        this.annotator = annotator;
    }

    @Override
    public final List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        return annotator.annotate(batch);
    }

    @Override
    public final void annotateContinuously(List<AnnotationInput> inputs, int maxActiveRows,
                                           OutcomeListener listener) {
        annotator.annotateContinuously(inputs, maxActiveRows, listener);
    }

    @Override
    public final <T> void annotateFed(AnnotationFeed<T> feed, int maxActiveRows,
                                   AnnotationFeed.Listener<T> listener) throws InterruptedException {
        annotator.annotateFed(feed, maxActiveRows, listener);
    }

    @Override
    public final String modelId() {
        return annotator.modelId();
    }

    @Override
    public final String modelVersion() {
        return annotator.modelVersion();
    }

    @Override
    public final VisionFeatureStats visionStats() {
        return annotator.visionStats();
    }

    @Override
    public final GenerationSplit generationSplit() {
        return annotator.generationSplit();
    }

    @Override
    public final HostTrafficStats hostTraffic() {
        return annotator.hostTraffic();
    }

    @Override
    public final void close() {
        annotator.close();
    }

    /** Closes a part opened before loading failed, keeping the loading failure as the one reported. */
    protected static void closeQuietly(AutoCloseable part) {
        if (part != null) {
            try {
                part.close();
            } catch (Exception ignored) {
                // best effort on a failure path
            }
        }
    }
}
