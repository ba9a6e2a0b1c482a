package dev.loupe.jobs.caption;

import dev.loupe.model.api.ErrorCode;

/**
 * One image of an input as {@link InputEntries} reads it: its id (where it came from, e.g. {@code photos.tar!/a.jpg}),
 * and either a {@code file:} URI (loose files, read later by the pipeline's fetch stage), its encoded bytes
 * (archive entries), or why it cannot be read.
 */
public record InputEntry(String id, String uri, byte[] bytes, ErrorCode errorCode, String errorMessage) {

    public static InputEntry file(String id, String uri) {
        return new InputEntry(id, uri, null, null, null);
    }

    public static InputEntry inline(String id, byte[] bytes) {
        return new InputEntry(id, null, bytes, null, null);
    }

    public static InputEntry failed(String id, ErrorCode code, String message) {
        return new InputEntry(id, null, null, code, message);
    }

    public boolean isFailure() {
        return errorCode != null;
    }
}
