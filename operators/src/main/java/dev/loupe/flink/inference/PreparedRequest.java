package dev.loupe.flink.inference;

import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.ImageTensor;

/**
 * A request whose image is decoded and preprocessed, waiting to be batched for inference. The tensor is kept as
 * plain fields (not an {@link ImageTensor}) so that Flink serialises this POJO, in checkpoints too, without Kryo.
 */
public class PreparedRequest {
    /** The request, with its inline image bytes dropped (the pixels replace them). */
    public ValidatedRequest request;
    /** Normalised pixels in (channels, height, width) order. */
    public float[] pixels;
    public int channels;
    public int height;
    public int width;
    public long fetchMillis;
    /** Time decoding and preprocessing the image. */
    public long preprocessMillis;
    /**
     * The encoded image the pixels came from: what a checkpoint of a request waiting for the model keeps (a fraction
     * of the tensor's size), to preprocess it again after a restore. Null when unknown.
     */
    public byte[] encoded;

    public PreparedRequest() {}

    public PreparedRequest(ValidatedRequest request, ImageTensor tensor, long fetchMillis) {
        this(request, tensor, fetchMillis, 0);
    }

    /** A request preprocessed from {@code encoded}, which it keeps for checkpoints. */
    public PreparedRequest(ValidatedRequest request, byte[] encoded, ImageTensor tensor, long fetchMillis,
            long preprocessMillis) {
        this(request, tensor, fetchMillis, preprocessMillis);
        this.encoded = encoded;
    }

    public PreparedRequest(ValidatedRequest request, ImageTensor tensor, long fetchMillis, long preprocessMillis) {
        this.request = request;
        this.pixels = tensor.chw();
        this.channels = tensor.channels();
        this.height = tensor.height();
        this.width = tensor.width();
        this.fetchMillis = fetchMillis;
        this.preprocessMillis = preprocessMillis;
    }

    public ImageTensor tensor() {
        return new ImageTensor(pixels, channels, height, width);
    }

    /** What a checkpoint keeps of this request: the request and its encoded image. */
    public FetchedImage toFetched() {
        return new FetchedImage(request, encoded, fetchMillis);
    }

    public AnnotationInput toInput() {
        return new AnnotationInput(request.id, tensor(), request.prompt, request.task, request.candidates,
                request.generation);
    }
}
