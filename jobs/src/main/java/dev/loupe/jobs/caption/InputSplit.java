package dev.loupe.jobs.caption;

import java.util.List;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * One unit of {@link CaptionSource}'s work, read by one subtask at a time: a list of loose image files, one
 * tar/tar.gz/zip archive, one WebDataset shard (a tar or tar.gz read sample by sample), or one manifest table. {@code position} is how many of its entries have been emitted, so a
 * split restored from a checkpoint resumes after them instead of emitting them again.
 *
 * @param index the split's place in the plan; with the entry position it orders the outputs
 * @param path the archive or manifest (absolute), or null for a file list
 * @param label how image ids name the archive or manifest, e.g. {@code photos.tar} in {@code photos.tar!/a.jpg}
 * @param column a manifest's image column (null otherwise)
 * @param files absolute paths of a file list's images (empty otherwise)
 * @param ids the image ids of {@code files}, in the same order
 */
public record InputSplit(int index, Kind kind, String path, String label, String column, List<String> files,
        List<String> ids, long position) implements SourceSplit, java.io.Serializable {

    /** What a split reads. */
    public enum Kind { FILES, TAR, TAR_GZ, ZIP, MANIFEST, WEBDATASET }

    public InputSplit {
        files = List.copyOf(files);
        ids = List.copyOf(ids);
        if (files.size() != ids.size()) {
            throw new IllegalArgumentException("a file list split needs one id per file");
        }
    }

    @Override
    public String splitId() {
        return Integer.toString(index);
    }

    /** This split with {@code emitted} entries done. */
    public InputSplit at(long emitted) {
        return new InputSplit(index, kind, path, label, column, files, ids, emitted);
    }

    /** The sort key of the split's {@code position}-th entry: orders output rows as the inputs list them. */
    public static String sequence(int index, long position) {
        return String.format(java.util.Locale.ROOT, "%06d-%010d", index, position);
    }
}
