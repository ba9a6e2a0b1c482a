package dev.loupe.model.api;

/** A failure attributable to one request, carrying the code that goes on its dead-letter record. */
public class AnnotationException extends Exception {
    private final ErrorCode code;

    public AnnotationException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public AnnotationException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
