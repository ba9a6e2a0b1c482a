package dev.loupe.jobs.caption;

/**
 * What {@link CaptionSource} emits per input entry: the Avro {@code AnnotationRequest} bytes for the pipeline, or,
 * for an entry that cannot even be read (too large, a link, a broken archive), its error. A Flink POJO.
 */
public class SourcedImage {
    /** The image id, e.g. {@code photos.tar!/a.jpg}. */
    public String id;
    /** The output order key ({@link InputSplit#sequence}). */
    public String sequence;
    /** Avro AnnotationRequest bytes; null when {@link #errorCode} is set. */
    public byte[] request;
    public String errorCode;
    public String errorMessage;

    public SourcedImage() {}

    public SourcedImage(String id, String sequence, byte[] request, String errorCode, String errorMessage) {
        this.id = id;
        this.sequence = sequence;
        this.request = request;
        this.errorCode = errorCode;
        this.errorMessage = errorMessage;
    }
}
