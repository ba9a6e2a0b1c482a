package dev.loupe.jobs.webdataset;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * Copies a WebDataset shard member by member, in tar order and with each member's bytes and header fields as they
 * are, adding one member after each sample ({@code KEY.EXTENSION}, e.g. {@code 000000000.loupe.json}). The added
 * member takes its time stamp and owner from the sample's last member, so copying the same shard with the same
 * additions gives the same bytes. The copy is gzip-compressed when its name ends in {@code .gz} or {@code .tgz}.
 */
public final class ShardCopier {

    /** What to add to a sample. */
    @FunctionalInterface
    public interface Addition {
        /** The added member's bytes for {@code sample} (read without member contents). */
        byte[] bytes(ShardSample sample) throws IOException;
    }

    private ShardCopier() {}

    /** Copies {@code in} to {@code out} with {@code addition}'s member after every sample; returns the samples. */
    public static long copy(Path in, Path out, String extension, Addition addition) throws IOException {
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(out), 256 * 1024);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(
                        ShardReader.compressed(out) ? new GzipCompressorOutputStream(file) : file)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tar.setAddPaxHeadersForNonAsciiNames(true);
            Copying copying = new Copying(tar, extension, addition);
            long samples = 0;
            try (ShardReader reader = ShardReader.open(in, copying)) {
                while (reader.next() != null) {
                    samples++;
                }
            }
            tar.finish();
            return samples;
        }
    }

    private static final class Copying implements ShardReader.Listener {
        private final TarArchiveOutputStream tar;
        private final String extension;
        private final Addition addition;
        private TarArchiveEntry last;

        Copying(TarArchiveOutputStream tar, String extension, Addition addition) {
            this.tar = tar;
            this.extension = extension;
            this.addition = addition;
        }

        @Override
        public void entry(TarArchiveEntry entry, InputStream data) throws IOException {
            tar.putArchiveEntry(entry);
            if (entry.isFile()) {
                long copied = data.transferTo(tar);
                if (copied < entry.getSize()) {
                    throw new IOException("the shard ends inside member " + entry.getName() + " (" + copied + " of "
                            + entry.getSize() + " bytes)");
                }
            }
            tar.closeArchiveEntry();
            last = entry;
        }

        @Override
        public void sampleEnd(ShardSample sample) throws IOException {
            byte[] bytes = addition.bytes(sample);
            if (bytes == null) {
                return;
            }
            TarArchiveEntry added = new TarArchiveEntry(sample.key() + "." + extension);
            added.setSize(bytes.length);
            added.setMode(0100644);
            if (last != null) {
                added.setModTime(last.getModTime());
                added.setUserId(last.getLongUserId());
                added.setGroupId(last.getLongGroupId());
                added.setUserName(last.getUserName());
                added.setGroupName(last.getGroupName());
            }
            tar.putArchiveEntry(added);
            tar.write(bytes);
            tar.closeArchiveEntry();
        }
    }
}
