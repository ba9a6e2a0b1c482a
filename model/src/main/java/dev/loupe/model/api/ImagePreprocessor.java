package dev.loupe.model.api;

import java.util.function.IntFunction;

/**
 * Turns encoded image bytes into the tensor the model's vision encoder expects (decode, RGB, resize,
 * rescale, normalise). Runs before batching, on CPU. Thread-safe.
 */
public interface ImagePreprocessor {

    /** @throws AnnotationException with an IMAGE_* code for empty, corrupt, unsupported or oversized images */
    ImageTensor preprocess(byte[] encoded) throws AnnotationException;

    /** The model tensor and, when the preprocessor can make one from the same decode, a thumbnail. */
    record Preprocessed(ImageTensor tensor, Thumbnail thumbnail) {}

    /**
     * As {@link #preprocess}, also giving a thumbnail whose longest side is at most {@code maxSide} pixels (aspect
     * kept, never enlarged) made from the same decode; null thumbnail from a preprocessor that cannot.
     */
    default Preprocessed preprocessWithThumbnail(byte[] encoded, int maxSide) throws AnnotationException {
        return new Preprocessed(preprocess(encoded), null);
    }

    /**
     * As {@link #preprocessWithThumbnail} ({@code maxSide} 0: no thumbnail), the tensor's values written into an array
     * {@code buffers} gives for the tensor's exact length instead of a new one, so that a caller holding many tensors
     * at once (a batch filling while another runs) can recycle their arrays rather than have each promoted and
     * collected. Same values as {@link #preprocess}; a preprocessor that cannot fill a given array allocates its own.
     */
    default Preprocessed preprocess(byte[] encoded, int maxSide, IntFunction<float[]> buffers)
            throws AnnotationException {
        return maxSide > 0 ? preprocessWithThumbnail(encoded, maxSide) : new Preprocessed(preprocess(encoded), null);
    }
}
