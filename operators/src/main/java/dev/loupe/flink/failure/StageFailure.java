package dev.loupe.flink.failure;

import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationFailure;
import java.util.HashMap;
import java.util.Map;

/**
 * A request's failure at one stage, before it becomes the dead-letter {@link AnnotationFailure}: a plain POJO so it
 * can travel inside {@link Fallible} through async I/O, which has no side outputs.
 */
public class StageFailure {
    public String id;
    public String stage;
    public ErrorCode code;
    public String message;
    public byte[] rawInput;
    public Map<String, String> metadata = new HashMap<>();

    public StageFailure() {}

    public StageFailure(String id, String stage, ErrorCode code, String message, byte[] rawInput,
            Map<String, String> metadata) {
        this.id = id;
        this.stage = stage;
        this.code = code;
        this.message = message == null ? code.name() : message;
        this.rawInput = rawInput;
        this.metadata = metadata == null ? new HashMap<>() : new HashMap<>(metadata);
    }

    public AnnotationFailure toRecord(long timestampMillis) {
        return AnnotationFailure.newBuilder()
                .setId(id)
                .setRawInput(rawInput == null ? null : java.nio.ByteBuffer.wrap(rawInput))
                .setStage(stage)
                .setErrorCode(code.name())
                .setMessage(message)
                .setTimestampMillis(timestampMillis)
                .setMetadata(new HashMap<>(metadata))
                .build();
    }
}
