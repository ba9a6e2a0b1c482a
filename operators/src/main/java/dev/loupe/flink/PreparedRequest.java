package dev.loupe.flink;

import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.ImageTensor;

/** A request whose image is decoded and preprocessed, waiting to be batched for inference. */
public class PreparedRequest {
    /** The request, with its inline image bytes dropped (the pixels replace them). */
    public ValidatedRequest request;
    public ImageTensor pixels;
    public long fetchMillis;

    public PreparedRequest() {}

    public PreparedRequest(ValidatedRequest request, ImageTensor pixels, long fetchMillis) {
        this.request = request;
        this.pixels = pixels;
        this.fetchMillis = fetchMillis;
    }

    public AnnotationInput toInput() {
        return new AnnotationInput(request.id, pixels, request.prompt, request.task, request.candidates,
                request.generation);
    }
}
