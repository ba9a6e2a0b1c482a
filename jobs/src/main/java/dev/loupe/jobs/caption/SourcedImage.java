package dev.loupe.jobs.caption;

import dev.loupe.schemas.AnnotationRequest;

/**
 * What {@link CaptionSource} emits per input entry: the {@link AnnotationRequest} for the pipeline, or,
 * for an entry that cannot even be read (too large, a link, a broken archive), its error. A Flink POJO.
 */
public class SourcedImage {
    /** The image id, e.g. {@code photos.tar!/a.jpg}. */
    public String id;
    /** The output order key ({@link InputSplit#sequence}). */
    public String sequence;
    /** The request; null when {@link #errorCode} is set. */
    public AnnotationRequest request;
    public String errorCode;
    public String errorMessage;
    /** A WebDataset sample's key and text members as JSON ({@link RequestTemplate#SAMPLE_KEY}); null otherwise. */
    public String sample;

    public SourcedImage() {}

    public SourcedImage(String id, String sequence, AnnotationRequest request, String errorCode, String errorMessage) {
        this.id = id;
        this.sequence = sequence;
        this.request = request;
        this.errorCode = errorCode;
        this.errorMessage = errorMessage;
    }
}
