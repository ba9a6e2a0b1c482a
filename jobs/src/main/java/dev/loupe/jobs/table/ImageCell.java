package dev.loupe.jobs.table;

import java.nio.ByteBuffer;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

/**
 * The image a table cell holds, as the bounded jobs read it: either encoded image bytes inside the table, or a
 * reference to fetch. A cell may be
 * <ul>
 *   <li>a string: a URI with a scheme ({@code file:}, {@code http(s):}, {@code s3:} ...), used as it is (the pipeline
 *       checks it: allowed roots, SSRF guard), or a path, relative to the table's folder or absolute, made a
 *       {@code file:} URI;</li>
 *   <li>bytes (a Parquet binary column): the encoded image;</li>
 *   <li>a Hugging Face {@code Image} struct, {@code struct<bytes: binary, path: string>}: its bytes when it has
 *       them (what {@code datasets} writes for images embedded in the dataset; the path is then only a name), else
 *       its path as above (a dataset that refers to image files).</li>
 * </ul>
 *
 * @param reference the reference as the table gives it (null for bytes)
 * @param uri       the URI to fetch (null for bytes)
 * @param bytes     the encoded image (null for a reference)
 */
public record ImageCell(String reference, String uri, byte[] bytes) {

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:.*", Pattern.DOTALL);

    /** Whether the image is inside the table. */
    public boolean inline() {
        return bytes != null;
    }

    /**
     * The image of {@code value}, a cell of a table in {@code tableFolder}.
     *
     * @throws IllegalArgumentException saying why the cell holds no usable image (empty, a line break in a
     *                                  reference, a value of another kind)
     */
    public static ImageCell of(Object value, Path tableFolder) {
        if (value instanceof byte[] encoded) {
            return bytes(encoded);
        }
        if (value instanceof GenericRecord struct) {
            return struct(struct, tableFolder);
        }
        if (value instanceof CharSequence text) {
            return reference(text.toString(), tableFolder);
        }
        if (value == null) {
            throw new IllegalArgumentException("no image reference (the cell is empty)");
        }
        throw new IllegalArgumentException("the image column holds neither a reference, image bytes nor a "
                + "{bytes, path} struct (a " + value.getClass().getSimpleName() + ")");
    }

    private static ImageCell bytes(byte[] encoded) {
        if (encoded.length == 0) {
            throw new IllegalArgumentException("no image (the cell's bytes are empty)");
        }
        return new ImageCell(null, null, encoded);
    }

    private static ImageCell struct(GenericRecord struct, Path tableFolder) {
        Schema schema = struct.getSchema();
        if (schema.getField("bytes") == null && schema.getField("path") == null) {
            throw new IllegalArgumentException("the image column is a struct without a bytes or path field (its "
                    + "fields: " + schema.getFields().stream().map(Schema.Field::name).toList() + ")");
        }
        Object encoded = schema.getField("bytes") == null ? null : struct.get("bytes");
        if (encoded instanceof ByteBuffer buffer && buffer.hasRemaining()) {
            byte[] copy = new byte[buffer.remaining()];
            buffer.duplicate().get(copy);
            return bytes(copy);
        }
        if (encoded instanceof byte[] array && array.length > 0) {
            return bytes(array);
        }
        Object path = schema.getField("path") == null ? null : struct.get("path");
        if (path == null) {
            throw new IllegalArgumentException("no image (the struct's bytes and path are both empty)");
        }
        return reference(path.toString(), tableFolder);
    }

    private static ImageCell reference(String reference, Path tableFolder) {
        String text = reference.strip();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("no image reference (the cell is empty)");
        }
        if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0 || text.indexOf('\t') >= 0) {
            throw new IllegalArgumentException("image reference holds a line break or tab");
        }
        if (SCHEME.matcher(text).matches()) {
            return new ImageCell(text, text, null);
        }
        try {
            return new ImageCell(text, tableFolder.resolve(text).toAbsolutePath().normalize().toUri().toString(),
                    null);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("image reference '" + text + "' is neither a URI nor a path", e);
        }
    }
}
