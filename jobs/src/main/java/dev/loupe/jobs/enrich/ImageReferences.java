package dev.loupe.jobs.enrich;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Turns a table cell's image reference into the URI the pipeline fetches: a URI with a scheme ({@code file:},
 * {@code http(s):}, {@code s3:} ...) is used as it is (the pipeline checks it: allowed roots, SSRF guard), a path
 * is resolved against the table's folder (or used as it is when absolute) into a {@code file:} URI. The URI is also
 * the row's key in the resume journal, so a row moved within the table, or the same image in two rows, is
 * annotated once.
 */
final class ImageReferences {

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:.*", Pattern.DOTALL);

    private ImageReferences() {}

    /**
     * The URI for {@code reference} in a table in {@code tableFolder}.
     *
     * @throws IllegalArgumentException when the reference is null, blank or not a path
     */
    static String resolve(Object reference, Path tableFolder) {
        if (reference == null) {
            throw new IllegalArgumentException("no image reference (the cell is empty)");
        }
        String text = reference.toString().strip();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("no image reference (the cell is empty)");
        }
        if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("image reference holds a line break");
        }
        if (SCHEME.matcher(text).matches()) {
            return text;
        }
        try {
            return tableFolder.resolve(text).toAbsolutePath().normalize().toUri().toString();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("image reference '" + text + "' is neither a URI nor a path", e);
        }
    }
}
