package dev.loupe.jobs.webdataset;

import java.nio.charset.StandardCharsets;

/**
 * One tar member of a sample: its full name, key and extension, size, where its data starts in an uncompressed tar
 * ({@code offset}, -1 in a compressed one), whether it is a regular file, and its bytes when the reader was asked
 * for them (null otherwise, or when it is larger than asked).
 */
public record ShardMember(String name, MemberName parsed, long size, long offset, boolean regular, byte[] content) {

    public String extension() {
        return parsed.extension();
    }

    /** The content as UTF-8 text, or null when it was not read. */
    public String text() {
        return content == null ? null : new String(content, StandardCharsets.UTF_8);
    }
}
