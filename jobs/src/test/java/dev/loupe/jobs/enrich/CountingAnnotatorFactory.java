package dev.loupe.jobs.enrich;

import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test model: the echo model, taking {@code millisPerInput} per input and counting the inputs it annotated (in a
 * JVM-wide counter: the MiniCluster runs in the test's JVM); while {@code armFile} exists every batch fails with an
 * Error, which the inference operator does not turn into failure records, so the job fails (for good when no
 * restarts are left). With {@code holdAfter} > 0 an annotator that has annotated that many inputs waits (up to 30 s)
 * for the arm file before its next batch, so a run is interrupted part-way however fast the machine is.
 */
final class CountingAnnotatorFactory implements AnnotatorFactory {

    private static final long serialVersionUID = 1L;
    private static final Map<String, AtomicLong> ANNOTATED = new ConcurrentHashMap<>();

    private final EchoAnnotatorFactory echo;
    private final String counter;
    private final long millisPerInput;
    private final String armFile;
    private final long holdAfter;

    CountingAnnotatorFactory(String counter, long millisPerInput, Path armFile) {
        this(counter, millisPerInput, armFile, 0);
    }

    CountingAnnotatorFactory(String counter, long millisPerInput, Path armFile, long holdAfter) {
        this.holdAfter = holdAfter;
        this.echo = EchoAnnotatorFactory.fast(counter + "-echo");
        this.counter = counter;
        this.millisPerInput = millisPerInput;
        this.armFile = armFile == null ? null : armFile.toString();
    }

    static long annotated(String counter) {
        return ANNOTATED.computeIfAbsent(counter, k -> new AtomicLong()).get();
    }

    @Override
    public ImagePreprocessor createPreprocessor() {
        return echo.createPreprocessor();
    }

    @Override
    public BatchAnnotator createAnnotator() {
        BatchAnnotator inner = echo.createAnnotator();
        AtomicLong annotated = ANNOTATED.computeIfAbsent(counter, k -> new AtomicLong());
        AtomicLong mine = new AtomicLong();
        return new BatchAnnotator() {
            @Override
            public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
                if (armFile != null && holdAfter > 0 && mine.get() >= holdAfter) {
                    awaitArm();
                }
                if (armFile != null && Files.exists(Path.of(armFile))) {
                    throw new Interruption();
                }
                try {
                    Thread.sleep(millisPerInput * batch.size());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                List<AnnotationOutcome> out = inner.annotate(batch);
                annotated.addAndGet(batch.size());
                mine.addAndGet(batch.size());
                return out;
            }

            private void awaitArm() {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!Files.exists(Path.of(armFile)) && System.nanoTime() < deadline) {
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                }
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
            public void close() {
                inner.close();
            }
        };
    }

    /** The injected fatal failure. */
    static final class Interruption extends Error {
        private static final long serialVersionUID = 1L;

        Interruption() {
            super("injected fault: the run is interrupted");
        }
    }
}
