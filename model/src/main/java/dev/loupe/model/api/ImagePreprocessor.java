package dev.loupe.model.api;

/**
 * Turns encoded image bytes into the tensor the model's vision encoder expects (decode, RGB, resize,
 * rescale, normalise). Runs before batching, on CPU. Thread-safe.
 */
public interface ImagePreprocessor {

    /** @throws AnnotationException with an IMAGE_* code for empty, corrupt, unsupported or oversized images */
    ImageTensor preprocess(byte[] encoded) throws AnnotationException;
}
