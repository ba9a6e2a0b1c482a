package dev.loupe.jobs.testing;

import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.flink.testing.BlipTestAnnotatorFactory;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test-only model over the real image preprocessor: answers "echo: PROMPT" for each input, optionally slowly, counting the inputs it receives
 * (in a JVM-wide counter, since the MiniCluster runs in the test's JVM), and optionally failing once per
 * {@link Fault}: fatally once a file {@code armFile} exists ({@link #failingOnceWhenArmed}), or at the batch
 * holding a chosen request ({@link #failingOnceAt}). The fatal fault is {@link InjectedFault}, an Error the
 * inference operator does not turn into dead letters, so the job fails and restarts from its last checkpoint.
 */
public final class EchoAnnotatorFactory implements AnnotatorFactory {

    private static final long serialVersionUID = 1L;
    private static final Map<String, AtomicLong> RECEIVED = new ConcurrentHashMap<>();

    private final String counter;
    private final long millisPerInput;
    private final long maxPixels;
    private final List<Fault> faults;

    private EchoAnnotatorFactory(String counter, long millisPerInput, long maxPixels, List<Fault> faults) {
        this.counter = counter;
        this.millisPerInput = millisPerInput;
        this.maxPixels = maxPixels;
        this.faults = List.copyOf(faults);
    }

    public static EchoAnnotatorFactory fast(String counter) {
        return new EchoAnnotatorFactory(counter, 0, 4096, List.of());
    }

    public static EchoAnnotatorFactory slow(String counter, long millisPerInput) {
        return new EchoAnnotatorFactory(counter, millisPerInput, 1 << 20, List.of());
    }

    public static EchoAnnotatorFactory failingOnceWhenArmed(String counter, Path armFile, Path firedFile) {
        return new EchoAnnotatorFactory(counter, 0, 4096,
                List.of(new Fault(armFile.toString(), null, firedFile.toString(), true)));
    }

    /** Fails once per fault, each at the first batch holding its request (see {@link Fault#at}). */
    public static EchoAnnotatorFactory failingOnceAt(String counter, Fault... faults) {
        return new EchoAnnotatorFactory(counter, 0, 4096, List.of(faults));
    }

    /** Inputs received so far by annotators made by factories with this counter name. */
    public static long received(String counter) {
        return RECEIVED.computeIfAbsent(counter, k -> new AtomicLong()).get();
    }

    /** The real BLIP preprocessor of the InstructBLIP fixture checkpoint (32×32), with a small pixel limit. */
    @Override
    public ImagePreprocessor createPreprocessor() {
        return BlipImageProcessor.fromCheckpoint(BlipTestAnnotatorFactory.fixtureCheckpoint(),
                new ImageDecoder(1 << 20, maxPixels));
    }

    @Override
    public BatchAnnotator createAnnotator() {
        AtomicLong received = RECEIVED.computeIfAbsent(counter, k -> new AtomicLong());
        return new BatchAnnotator() {
            @Override
            public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
                for (Fault fault : faults) {
                    if (fault.appliesTo(batch) && fault.claim()) {
                        if (fault.fatal()) {
                            throw new InjectedFault("injected fault in the model runtime");
                        }
                        throw new IllegalStateException("injected exception in the model runtime at " + fault.requestId());
                    }
                }
                received.addAndGet(batch.size());
                List<AnnotationOutcome> out = new ArrayList<>();
                for (AnnotationInput input : batch) {
                    if (millisPerInput > 0) {
                        try {
                            Thread.sleep(millisPerInput);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException("interrupted", e);
                        }
                    }
                    List<Annotation.CandidateScore> candidates = new ArrayList<>();
                    for (int i = 0; i < input.candidates().size(); i++) {
                        candidates.add(new Annotation.CandidateScore(input.candidates().get(i), -i));
                    }
                    out.add(AnnotationOutcome.success(new Annotation(new int[] {1, 2}, "echo: " + input.prompt(),
                            -1.0, List.of(), candidates)));
                }
                return out;
            }

            @Override
            public String modelId() {
                return "echo";
            }

            @Override
            public String modelVersion() {
                return "test";
            }

            @Override
            public void close() {}
        };
    }

    /**
     * One injected fault, fired once (the first annotator to create {@code firedFile} fires it, so it stays fired
     * across restarts and task managers): when {@code armFile} exists (if set) and the batch holds request
     * {@code requestId} (if set). Fatal: {@link InjectedFault}, the job restarts from its last checkpoint; else a
     * RuntimeException, which the inference operator answers by retrying the batch's requests one by one.
     */
    public record Fault(String armFile, String requestId, String firedFile, boolean fatal) implements java.io.Serializable {

        /** A fault at the first batch holding {@code requestId}. */
        public static Fault at(String requestId, Path firedFile, boolean fatal) {
            return new Fault(null, requestId, firedFile.toString(), fatal);
        }

        boolean appliesTo(List<AnnotationInput> batch) {
            if (Files.exists(Path.of(firedFile)) || (armFile != null && !Files.exists(Path.of(armFile)))) {
                return false;
            }
            return requestId == null || batch.stream().anyMatch(input -> input.id().equals(requestId));
        }

        /** Creates the fired-file; false when another annotator created it first. */
        boolean claim() {
            try {
                Files.createFile(Path.of(firedFile));
                return true;
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                return false;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** The injected fatal failure. */
    public static final class InjectedFault extends Error {
        private static final long serialVersionUID = 1L;

        InjectedFault(String message) {
            super(message);
        }
    }
}
