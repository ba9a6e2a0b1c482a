package dev.loupe.jobs.webdataset;

import java.util.Locale;
import java.util.List;

/**
 * A tar member's name split the way WebDataset splits it: the key is the path up to the first dot of the file name,
 * the extension everything after it ({@code 000000000.jpg} is key {@code 000000000}, extension {@code jpg};
 * {@code a/b.seg.png} is key {@code a/b}, extension {@code seg.png}). Members sharing a key, one after the other,
 * form a sample.
 */
public record MemberName(String key, String extension) {

    /** Extensions read as a sample's image, (a sample's first such member is its image). */
    public static final List<String> IMAGE_EXTENSIONS = List.of("jpg", "jpeg", "png", "webp");

    /**
     * The key and extension of {@code name}, or null when it has none: no dot in the file name, a file name starting
     * with a dot (hidden), or nothing after the dot. WebDataset leaves such members out of every sample.
     */
    public static MemberName of(String name) {
        int slash = name.lastIndexOf('/');
        String file = name.substring(slash + 1);
        int dot = file.indexOf('.');
        if (dot <= 0 || dot == file.length() - 1) {
            return null;
        }
        return new MemberName(name.substring(0, slash + 1 + dot), file.substring(dot + 1));
    }

    /** Whether the extension names an image format Loupe decodes ({@link #IMAGE_EXTENSIONS}, any case). */
    public boolean isImage() {
        return IMAGE_EXTENSIONS.contains(extension.toLowerCase(Locale.ROOT));
    }
}
