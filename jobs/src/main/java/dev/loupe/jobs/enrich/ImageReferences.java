package dev.loupe.jobs.enrich;

import dev.loupe.jobs.table.ImageCell;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Turns a table cell into the image the pipeline annotates ({@link ImageCell}: a reference made a URI, or bytes
 * inside the table) and the image's key in the resume journal: the URI for a reference, {@code sha256:HEX} of the
 * encoded bytes for an image inside the table. So a row moved within the table, or the same image in two rows
 * (the same file, or the same bytes), is annotated once, and a re-run finds it again.
 */
final class ImageReferences {

    /** The image of one row and its journal key. */
    record RowImage(String key, ImageCell image) {}

    private ImageReferences() {}

    /**
     * The image of {@code cell} in a table in {@code tableFolder}.
     *
     * @throws IllegalArgumentException when the cell holds no usable image (the message says why)
     */
    static RowImage resolve(Object cell, Path tableFolder) {
        ImageCell image = ImageCell.of(cell, tableFolder);
        return new RowImage(image.inline() ? contentKey(image.bytes()) : image.uri(), image);
    }

    static String contentKey(byte[] bytes) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
