package dev.loupe.model.instructblip;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayList;
import java.util.List;

/**
 * The InstructBLIP / BLIP-2 image side as {@link InstructBlipPrefixEncoder} uses it: images and Q-Former
 * instructions to the projected query embeddings of each row. {@link ImageEncoder} runs it through ONNX Runtime's Java
 * API; {@link BoundImageSide} through IoBinding, its intermediate kept in the execution provider's memory (with the
 * device-bound decoder runner). Thread-safe.
 */
interface QueryEncoder extends AutoCloseable {

    /** Per row, the language-model inputs [num_query_tokens][llm_hidden] of image i with instruction tokens i. */
    float[][][] encode(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException;

    /**
     * Per row, the decoder prefix: its queries followed by the prompt's embeddings {@code text[i]}. Here the queries
     * are host rows; {@link BoundImageSide} leaves them in the device's memory. The caller owns the prefixes.
     */
    default List<VisualPrefix> prefixes(List<ImageTensor> images, long[][] qformerIds, float[][][] text)
            throws AnnotationException {
        return hostPrefixes(encode(images, qformerIds), text);
    }

    /**
     * As {@link #prefixes}, the image side run wholly on the calling thread (one core at most, at the caller's
     * priority) where the encoder can ({@link ImageEncoder#encodeOnCaller}); the same results. Here: {@link #prefixes}.
     */
    default List<VisualPrefix> prefixesOnCaller(List<ImageTensor> images, long[][] qformerIds, float[][][] text)
            throws AnnotationException {
        return prefixes(images, qformerIds, text);
    }

    /** Whether {@link #prefixesOnCaller} keeps the runs on the calling thread. */
    default boolean buildsOnCaller() {
        return false;
    }

    /** Per row, its queries followed by its prompt embeddings, on the host. */
    static List<VisualPrefix> hostPrefixes(float[][][] queries, float[][][] text) {
        List<VisualPrefix> prefixes = new ArrayList<>(queries.length);
        for (int k = 0; k < queries.length; k++) {
            float[][] q = queries[k];
            float[][] t = text[k];
            float[][] prefix = new float[q.length + t.length][];
            System.arraycopy(q, 0, prefix, 0, q.length);
            System.arraycopy(t, 0, prefix, q.length, t.length);
            prefixes.add(VisualPrefix.onHost(prefix));
        }
        return prefixes;
    }

    /** How often the prompt-independent image stage ran and how often its features were reused. */
    VisionFeatureStats visionStats();

    /** The image side's host-boundary bytes ({@link HostTrafficStats#NONE} where nothing is counted). */
    HostTrafficStats traffic();

    @Override
    void close() throws OrtException;
}
