package dev.loupe.flink.request;

import dev.loupe.flink.failure.StageFailure;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoded request that passed validation: exactly one of {@link #imageUri} and {@link #imageBytes}, the prompt
 * already resolved, generation settings validated. A Flink POJO (public fields, List/Map typed as interfaces) so
 * Flink serialises it field by field with its built-in serializers, never Kryo.
 */
public class ValidatedRequest {
    public String id;
    /** The image URI, or null when the bytes are inline. */
    public String imageUri;
    /** Inline encoded image, or null when {@link #imageUri} is set. */
    public byte[] imageBytes;
    public Task task;
    public String prompt;
    public List<String> candidates = new ArrayList<>();
    public GenerationConfig generation;
    public Map<String, String> metadata = new HashMap<>();

    public ValidatedRequest() {}

    public ValidatedRequest(String id, String imageUri, byte[] imageBytes, Task task, String prompt,
            List<String> candidates, GenerationConfig generation, Map<String, String> metadata) {
        this.id = id;
        this.imageUri = imageUri;
        this.imageBytes = imageBytes;
        this.task = task;
        this.prompt = prompt;
        this.candidates = new ArrayList<>(candidates);
        this.generation = generation;
        this.metadata = new HashMap<>(metadata);
    }

    /** A copy without the inline bytes (once fetched they travel beside it), leaving this request unchanged. */
    public ValidatedRequest withoutImageBytes() {
        return new ValidatedRequest(id, imageUri, null, task, prompt, candidates, generation, metadata);
    }

    /** This request's failure at {@code stage}, carrying its id and metadata. */
    public StageFailure failure(String stage, ErrorCode code, String message) {
        return new StageFailure(id, stage, code, message, null, metadata);
    }

    /** This request's failure at {@code stage} with the exception's code and message. */
    public StageFailure failure(String stage, AnnotationException e) {
        return failure(stage, e.code(), e.getMessage());
    }

    /** Where the image came from, for messages and the failure record. */
    public String imageLabel() {
        return imageUri != null ? UriRedaction.redact(imageUri) : "inline image (" + (imageBytes == null ? 0 : imageBytes.length) + " bytes)";
    }
}
