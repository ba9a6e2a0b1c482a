package dev.loupe.model.api;

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
}
