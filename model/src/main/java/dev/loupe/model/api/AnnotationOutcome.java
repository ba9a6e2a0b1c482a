package dev.loupe.model.api;

import java.io.Serializable;

/** Either an {@link Annotation} or the failure of that one input; a batch never fails as a whole for one bad row. */
public record AnnotationOutcome(Annotation annotation, ErrorCode errorCode, String errorMessage)
        implements Serializable {

    public static AnnotationOutcome success(Annotation annotation) {
        return new AnnotationOutcome(annotation, null, null);
    }

    public static AnnotationOutcome failure(ErrorCode code, String message) {
        return new AnnotationOutcome(null, code, message);
    }

    public boolean isSuccess() {
        return annotation != null;
    }
}
