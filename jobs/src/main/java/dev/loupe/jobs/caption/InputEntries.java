package dev.loupe.jobs.caption;

import dev.loupe.model.api.ErrorCode;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads the entries of one {@link InputSplit} in a fixed order, streaming: tar and tar.gz through one pass over the
 * archive, zip through its central directory, never extracting to disk. Each archive entry's bytes are read up to the
 * byte limit; a larger entry, a link or device entry, or an archive that breaks off become failure entries, never
 * exceptions. Directories and hidden names ({@code .*}, {@code __MACOSX}) are skipped. Opened {@link #open at} a
 * position, it skips that many entries first.
 */
public abstract class InputEntries implements Closeable {

    /** The next entry, or null at the end. */
    public abstract InputEntry next() throws IOException;

    /**
     * The entries of {@code split} after its position; {@code readBytes} false reads only names and sizes (to count
     * them), giving entries without bytes.
     */
    public static InputEntries open(InputSplit split, long maxBytes, boolean readBytes) throws IOException {
        InputEntries entries = switch (split.kind()) {
            case FILES -> new FileList(split);
            case TAR, TAR_GZ -> new Tar(split, maxBytes, readBytes);
            case ZIP -> new Zip(split, maxBytes, readBytes);
            case MANIFEST -> new ManifestEntries(split);
            case WEBDATASET -> new WebDatasetEntries(split, maxBytes, readBytes);
        };
        for (long i = 0; i < split.position(); i++) {
            if (entries.next() == null) {
                break;
            }
        }
        return entries;
    }

    /** How many entries {@code split} has from its position on (reading no image bytes). */
    public static long count(InputSplit split, long maxBytes) throws IOException {
        long n = 0;
        try (InputEntries entries = open(split, maxBytes, false)) {
            while (entries.next() != null) {
                n++;
            }
        }
        return n;
    }

    /** Whether an archive entry name is skipped: a hidden file or folder, or macOS's resource-fork folder. */
    static boolean hidden(String name) {
        for (String part : name.split("/")) {
            if ((part.startsWith(".") && !part.equals(".")) || part.equals("__MACOSX")) {
                return true;
            }
        }
        return false;
    }

    static String entryName(String name) {
        String n = name.replace('\\', '/');
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.startsWith("/")) {
            n = n.substring(1);
        }
        return n;
    }

    /** Reads at most {@code maxBytes}; null when the stream holds more. */
    static byte[] readBounded(InputStream in, long maxBytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buffer)) > 0) {
            total += n;
            if (total > maxBytes) {
                return null;
            }
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    static String tooLarge(String what, long maxBytes) {
        return what + " is larger than the " + maxBytes + "-byte limit (loupe.fetch.max-bytes)";
    }

    /** Loose image files, handed on as file: URIs. */
    private static final class FileList extends InputEntries {
        private final InputSplit split;
        private int next;

        FileList(InputSplit split) {
            this.split = split;
        }

        @Override
        public InputEntry next() {
            if (next >= split.files().size()) {
                return null;
            }
            int i = next++;
            return InputEntry.file(split.ids().get(i), Path.of(split.files().get(i)).toUri().toString());
        }

        @Override
        public void close() {}
    }

    /** A tar or tar.gz archive, read in one streaming pass. */
    private static final class Tar extends InputEntries {
        private final InputSplit split;
        private final long maxBytes;
        private final boolean readBytes;
        private final InputStream file;
        private TarArchiveInputStream tar;
        private boolean over;

        Tar(InputSplit split, long maxBytes, boolean readBytes) throws IOException {
            this.split = split;
            this.maxBytes = maxBytes;
            this.readBytes = readBytes;
            this.file = new BufferedInputStream(Files.newInputStream(Path.of(split.path())), 256 * 1024);
        }

        @Override
        public InputEntry next() {
            if (over) {
                return null;
            }
            try {
                if (tar == null) {
                    tar = new TarArchiveInputStream(split.kind() == InputSplit.Kind.TAR_GZ
                            ? new GzipCompressorInputStream(file, true) : file);
                }
                while (true) {
                    TarArchiveEntry entry = tar.getNextEntry();
                    if (entry == null) {
                        over = true;
                        return null;
                    }
                    String name = entryName(entry.getName());
                    if (entry.isDirectory() || name.isEmpty() || hidden(name)) {
                        continue;
                    }
                    String id = split.label() + "!/" + name;
                    if (!entry.isFile()) {
                        return InputEntry.failed(id, ErrorCode.INVALID_REQUEST,
                                "archive entry " + id + " is not a regular file (a link or device)");
                    }
                    if (entry.getSize() > maxBytes) {
                        return InputEntry.failed(id, ErrorCode.IMAGE_TOO_LARGE, tooLarge("archive entry " + id, maxBytes));
                    }
                    if (!readBytes) {
                        return InputEntry.inline(id, new byte[0]);
                    }
                    byte[] bytes;
                    try {
                        bytes = readBounded(tar, maxBytes);
                    } catch (IOException e) {
                        // the next header read fails too and ends the split, as when counting without reading
                        return truncated(id, name, e.getMessage());
                    }
                    if (bytes == null) {
                        return InputEntry.failed(id, ErrorCode.IMAGE_TOO_LARGE, tooLarge("archive entry " + id, maxBytes));
                    }
                    if (bytes.length < entry.getSize()) {
                        return truncated(id, name, bytes.length + " of " + entry.getSize() + " bytes");
                    }
                    return InputEntry.inline(id, bytes);
                }
            } catch (IOException | RuntimeException e) {
                // a corrupt or truncated archive: one failure row for what is left of it, then the split ends
                over = true;
                return InputEntry.failed(split.label() + "!", ErrorCode.FETCH_FAILED,
                        "cannot read archive " + split.label() + ": " + e.getMessage());
            }
        }

        private InputEntry truncated(String id, String name, String detail) {
            return InputEntry.failed(id, ErrorCode.FETCH_FAILED,
                    "archive " + split.label() + " ends inside entry " + name + " (" + detail + ")");
        }

        @Override
        public void close() throws IOException {
            if (tar != null) {
                tar.close();
            } else {
                file.close();
            }
        }
    }

    /** A zip archive, read entry by entry through its central directory (no extraction). */
    private static final class Zip extends InputEntries {
        private final InputSplit split;
        private final long maxBytes;
        private final boolean readBytes;
        private ZipFile zip;
        private Enumeration<? extends ZipEntry> entries;
        private boolean over;

        Zip(InputSplit split, long maxBytes, boolean readBytes) {
            this.split = split;
            this.maxBytes = maxBytes;
            this.readBytes = readBytes;
        }

        @Override
        public InputEntry next() {
            if (over) {
                return null;
            }
            try {
                if (zip == null) {
                    zip = new ZipFile(split.path());
                    entries = zip.entries();
                }
                while (entries.hasMoreElements()) {
                    ZipEntry entry = entries.nextElement();
                    String name = entryName(entry.getName());
                    if (entry.isDirectory() || name.isEmpty() || hidden(name)) {
                        continue;
                    }
                    String id = split.label() + "!/" + name;
                    if (entry.getSize() > maxBytes) {
                        return InputEntry.failed(id, ErrorCode.IMAGE_TOO_LARGE, tooLarge("archive entry " + id, maxBytes));
                    }
                    if (!readBytes) {
                        return InputEntry.inline(id, new byte[0]);
                    }
                    byte[] bytes;
                    try (InputStream in = zip.getInputStream(entry)) {
                        bytes = readBounded(in, maxBytes);
                    } catch (IOException e) {
                        return InputEntry.failed(id, ErrorCode.FETCH_FAILED,
                                "cannot read archive entry " + id + ": " + e.getMessage());
                    }
                    if (bytes == null) {
                        return InputEntry.failed(id, ErrorCode.IMAGE_TOO_LARGE, tooLarge("archive entry " + id, maxBytes));
                    }
                    return InputEntry.inline(id, bytes);
                }
                over = true;
                return null;
            } catch (IOException | RuntimeException e) {
                over = true;
                return InputEntry.failed(split.label() + "!", ErrorCode.FETCH_FAILED,
                        "cannot read archive " + split.label() + ": " + e.getMessage());
            }
        }

        @Override
        public void close() throws IOException {
            if (zip != null) {
                zip.close();
            }
        }
    }
}
