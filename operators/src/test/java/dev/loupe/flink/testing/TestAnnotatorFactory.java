package dev.loupe.flink.testing;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;

/** Test-only {@link AnnotatorFactory} for {@link TestImagePreprocessor} and {@link TestAnnotator}. */
public final class TestAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;
    private final long maxPixels;

    public TestAnnotatorFactory() {
        this(64L * 1024 * 1024);
    }

    public TestAnnotatorFactory(long maxPixels) {
        this.maxPixels = maxPixels;
    }

    @Override
    public ImagePreprocessor createPreprocessor() {
        return new TestImagePreprocessor(maxPixels);
    }

    @Override
    public BatchAnnotator createAnnotator() {
        return new TestAnnotator();
    }
}
