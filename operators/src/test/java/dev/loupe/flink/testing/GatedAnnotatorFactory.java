package dev.loupe.flink.testing;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Test-only factory of {@link TestAnnotator}s whose batches wait for a permit of {@link #gate}, so a test decides
 * when the model finishes; {@link #batchSizes} records every batch the model was given. One test at a time.
 */
public final class GatedAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;
    public static final Semaphore gate = new Semaphore(0);
    public static final List<Integer> batchSizes = new CopyOnWriteArrayList<>();

    /** Forgets earlier batches and permits. */
    public static void reset() {
        gate.drainPermits();
        batchSizes.clear();
    }

    @Override
    public ImagePreprocessor createPreprocessor() {
        return new TestImagePreprocessor(64L * 1024 * 1024);
    }

    @Override
    public BatchAnnotator createAnnotator() {
        return new HookedAnnotator(batch -> {
            batchSizes.add(batch.size());
            try {
                if (!gate.tryAcquire(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never opened the gate");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }
}
