package dev.loupe.jobs.webdataset;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads a WebDataset shard ({@code .tar}, or {@code .tar.gz}/{@code .tgz}) in one streaming pass, one
 * {@link ShardSample} at a time: consecutive members sharing a {@link MemberName key} form a sample, as WebDataset
 * groups them; directories, hidden members and members without an extension belong to no sample. A member's bytes
 * are read when {@code readLimit} allows at least its size (so callers bound what they hold in memory). A
 * {@link Listener} sees every tar entry in order, and each sample's end before the entry that starts the next one,
 * which is what copying a shard with members added needs.
 */
public final class ShardReader implements Closeable {

    /** Follows the walk over the tar. */
    public interface Listener {
        /** Every tar entry in order, its data unread in {@code data} (which the reader reads no content from then). */
        default void entry(TarArchiveEntry entry, InputStream data) throws IOException {}

        /** A sample is complete: called before the entry that starts the next sample, or at the end of the tar. */
        default void sampleEnd(ShardSample sample) throws IOException {}
    }

    private static final Listener NONE = new Listener() {};

    /** Tar's record size: headers and padded member data are whole records. */
    private static final int RECORD = 512;

    private final String label;
    private final boolean compressed;
    private final TarArchiveInputStream tar;
    private final ToLongFunction<MemberName> readLimit;
    private final Listener listener;
    private String currentKey;
    private List<ShardMember> current = new ArrayList<>();
    private boolean over;

    private ShardReader(Path shard, ToLongFunction<MemberName> readLimit, Listener listener) throws IOException {
        this.label = shard.toString();
        this.compressed = compressed(shard);
        this.readLimit = readLimit;
        this.listener = listener;
        InputStream file = new BufferedInputStream(Files.newInputStream(shard), 256 * 1024);
        try {
            this.tar = new TarArchiveInputStream(compressed ? new GzipCompressorInputStream(file, true) : file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Opens {@code shard}, reading the bytes of each member whose size is at most {@code readLimit} of its name. */
    public static ShardReader open(Path shard, ToLongFunction<MemberName> readLimit) throws IOException {
        return new ShardReader(shard, readLimit, NONE);
    }

    /** Opens {@code shard} for a walk followed by {@code listener}; no member's bytes are read into samples. */
    public static ShardReader open(Path shard, Listener listener) throws IOException {
        return new ShardReader(shard, name -> 0, listener);
    }

    /** Whether a shard's name says it is gzip-compressed ({@code .tar.gz}, {@code .tgz}). */
    public static boolean compressed(Path shard) {
        String name = shard.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".gz") || name.endsWith(".tgz");
    }

    /**
     * Whether the tar at {@code archive} looks like a WebDataset shard: among its first samples, one holds an image
     * and another member (a caption, metadata, ...). A tar of loose images does not; neither does one that cannot
     * be read.
     */
    public static boolean looksLikeShard(Path archive) {
        try (ShardReader reader = open(archive, name -> 0)) {
            for (int i = 0; i < 16; i++) {
                ShardSample sample = reader.next();
                if (sample == null) {
                    return false;
                }
                if (sample.image(null) != null && sample.members().stream().anyMatch(m -> !m.parsed().isImage())) {
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The next sample, or null at the end of the shard.
     *
     * @throws IOException when the tar cannot be read or ends inside a member (the message says which)
     */
    public ShardSample next() throws IOException {
        while (!over) {
            TarArchiveEntry entry = tar.getNextEntry();
            if (entry == null) {
                over = true;
                if (tar.getBytesRead() % RECORD != 0) {   // the tar reader takes a partial header for the end
                    throw new IOException("shard " + label + " ends inside a member's header (it is truncated)");
                }
                return endSample();
            }
            long offset = compressed ? -1 : tar.getBytesRead();
            String name = normal(entry.getName());
            MemberName parsed = entry.isDirectory() ? null : MemberName.of(name);
            ShardSample closed = null;
            if (parsed != null && !parsed.key().equals(currentKey)) {
                closed = endSample();
                currentKey = parsed.key();
            }
            listener.entry(entry, tar);
            if (parsed != null) {
                current.add(new ShardMember(name, parsed, entry.getSize(), offset, entry.isFile(),
                        entry.isFile() ? content(entry, name, parsed) : null));
            }
            if (closed != null) {
                return closed;
            }
        }
        return null;
    }

    private byte[] content(TarArchiveEntry entry, String name, MemberName parsed) throws IOException {
        if (entry.getSize() > readLimit.applyAsLong(parsed)) {
            return null;
        }
        byte[] bytes = tar.readNBytes((int) entry.getSize());
        if (bytes.length < entry.getSize()) {
            throw new IOException("shard " + label + " ends inside member " + name + " (" + bytes.length + " of "
                    + entry.getSize() + " bytes)");
        }
        return bytes;
    }

    /** Ends the sample being collected, telling the listener; null when there was none. */
    private ShardSample endSample() throws IOException {
        if (current.isEmpty()) {
            return null;
        }
        ShardSample sample = new ShardSample(currentKey, current);
        current = new ArrayList<>();
        listener.sampleEnd(sample);
        return sample;
    }

    /** A member name without leading {@code ./} or {@code /}. */
    static String normal(String name) {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.startsWith("/")) {
            n = n.substring(1);
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        tar.close();
    }
}
