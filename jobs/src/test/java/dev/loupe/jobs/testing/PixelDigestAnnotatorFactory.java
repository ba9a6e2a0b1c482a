package dev.loupe.jobs.testing;

import dev.loupe.flink.testing.BlipTestAnnotatorFactory;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Test-only model over the real BLIP preprocessor (the 32×32 fixture checkpoint) that answers each input with a
 * digest of the very pixels it was given and its prompt ({@link #text}), so a result shows whose image it was
 * computed from. It also records, per run name (JVM-wide: the MiniCluster runs in the test's JVM), whether the
 * model was given the pixel arrays the preprocessor filled, i.e. whether the tensor was handed from preprocessing
 * to inference by reference (object reuse) or as a serializer's copy.
 */
public final class PixelDigestAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;
    private static final Map<String, Set<float[]>> FILLED = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> BY_REFERENCE = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> COPIES = new ConcurrentHashMap<>();

    private final String run;

    public PixelDigestAnnotatorFactory(String run) {
        this.run = run;
    }

    /** The text this model answers for an image whose encoded bytes are {@code encoded}, asked {@code prompt}. */
    public static String text(byte[] encoded, String prompt) throws AnnotationException {
        return text(preprocessor().preprocess(encoded).chw(), prompt);
    }

    /** Inputs of run {@code run} whose pixels reached the model in the array the preprocessor had filled. */
    public static long byReference(String run) {
        return BY_REFERENCE.computeIfAbsent(run, k -> new AtomicLong()).get();
    }

    /** Inputs of run {@code run} whose pixels reached the model in another array (a copy). */
    public static long copies(String run) {
        return COPIES.computeIfAbsent(run, k -> new AtomicLong()).get();
    }

    private static String text(float[] pixels, String prompt) {
        return String.format(Locale.ROOT, "pixels %08x %d | %s", Arrays.hashCode(pixels), pixels.length, prompt);
    }

    private static ImagePreprocessor preprocessor() {
        return BlipImageProcessor.fromCheckpoint(BlipTestAnnotatorFactory.fixtureCheckpoint(),
                new ImageDecoder(1 << 20, 1 << 20));
    }

    private Set<float[]> filled() {
        return FILLED.computeIfAbsent(run, k -> Collections.synchronizedSet(
                Collections.newSetFromMap(new IdentityHashMap<>())));
    }

    @Override
    public ImagePreprocessor createPreprocessor() {
        ImagePreprocessor blip = preprocessor();
        Set<float[]> filled = filled();
        return new ImagePreprocessor() {
            @Override
            public ImageTensor preprocess(byte[] encoded) throws AnnotationException {
                return blip.preprocess(encoded);
            }

            @Override
            public Preprocessed preprocessWithThumbnail(byte[] encoded, int maxSide) throws AnnotationException {
                return blip.preprocessWithThumbnail(encoded, maxSide);
            }

            @Override
            public Preprocessed preprocess(byte[] encoded, int maxSide, IntFunction<float[]> buffers)
                    throws AnnotationException {
                Preprocessed p = blip.preprocess(encoded, maxSide, buffers);
                filled.add(p.tensor().chw());
                return p;
            }
        };
    }

    @Override
    public BatchAnnotator createAnnotator() {
        Set<float[]> filled = filled();
        AtomicLong byReference = BY_REFERENCE.computeIfAbsent(run, k -> new AtomicLong());
        AtomicLong copies = COPIES.computeIfAbsent(run, k -> new AtomicLong());
        return new BatchAnnotator() {
            @Override
            public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
                List<AnnotationOutcome> out = new ArrayList<>();
                for (AnnotationInput input : batch) {
                    float[] pixels = input.pixels().chw();
                    (filled.contains(pixels) ? byReference : copies).incrementAndGet();
                    out.add(AnnotationOutcome.success(new Annotation(new int[] {1}, text(pixels, input.prompt()),
                            -1.0, List.of(), List.of())));
                }
                return out;
            }

            @Override
            public String modelId() {
                return "pixel-digest";
            }

            @Override
            public String modelVersion() {
                return "test";
            }

            @Override
            public void close() {}
        };
    }
}
