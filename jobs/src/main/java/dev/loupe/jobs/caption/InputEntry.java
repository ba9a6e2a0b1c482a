package dev.loupe.jobs.caption;

import dev.loupe.model.api.ErrorCode;

/**
 * One image of an input as {@link InputEntries} reads it: its id (where it came from, e.g. {@code photos.tar!/a.jpg}),
 * and either a {@code file:} URI (loose files, read later by the pipeline's fetch stage), its encoded bytes
 * (archive entries), or why it cannot be read; a WebDataset sample's entry also carries the sample's key and text
 * members ({@code sample}, a JSON object; null for other entries).
 */
public record InputEntry(String id, String uri, byte[] bytes, ErrorCode errorCode, String errorMessage,
        String sample) {

    public static InputEntry file(String id, String uri) {
        return new InputEntry(id, uri, null, null, null, null);
    }

    public static InputEntry inline(String id, byte[] bytes) {
        return new InputEntry(id, null, bytes, null, null, null);
    }

    public static InputEntry failed(String id, ErrorCode code, String message) {
        return new InputEntry(id, null, null, code, message, null);
    }

    /** This entry with a WebDataset sample's fields. */
    public InputEntry withSample(String fields) {
        return new InputEntry(id, uri, bytes, errorCode, errorMessage, fields);
    }

    public boolean isFailure() {
        return errorCode != null;
    }
}
