package dev.loupe.jobs.caption;

import dev.loupe.jobs.webdataset.MemberName;
import dev.loupe.jobs.webdataset.ShardMember;
import dev.loupe.jobs.webdataset.ShardReader;
import dev.loupe.jobs.webdataset.ShardSample;
import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The samples of a WebDataset shard as input entries, one per sample, in shard order: the entry of sample
 * {@code 000000000} of {@code 00000.tar} is its image member ({@code 00000.tar!/000000000.jpg}), read from the
 * stream, with the sample's key and {@code .txt}/{@code .json}/{@code .cls} members as its {@link InputEntry#sample
 * fields}. A sample without an image member, or with one over the byte limit, is a failure entry; a shard that
 * breaks off is one failure entry for the rest of it, as in {@link InputEntries}' tar reading.
 */
final class WebDatasetEntries extends InputEntries {

    /** Most bytes of a text member carried into a row (longer ones are left out). */
    static final long MAX_TEXT_BYTES = 64 * 1024;

    private final InputSplit split;
    private final long maxBytes;
    private final boolean readBytes;
    private ShardReader reader;
    private boolean over;

    WebDatasetEntries(InputSplit split, long maxBytes, boolean readBytes) {
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
            if (reader == null) {
                reader = ShardReader.open(Path.of(split.path()), this::readLimit);
            }
            ShardSample sample = reader.next();
            if (sample == null) {
                over = true;
                return null;
            }
            return entry(sample);
        } catch (IOException | RuntimeException e) {
            over = true;
            return InputEntry.failed(split.label() + "!", ErrorCode.FETCH_FAILED,
                    "cannot read shard " + split.label() + ": " + e.getMessage());
        }
    }

    private long readLimit(MemberName name) {
        if (!readBytes) {
            return 0;
        }
        return name.isImage() ? maxBytes
                : ShardSample.TEXT_EXTENSIONS.contains(name.extension()) ? MAX_TEXT_BYTES : 0;
    }

    private InputEntry entry(ShardSample sample) {
        ShardMember image = sample.image(null);
        String id = split.label() + "!/" + (image == null ? sample.key() : image.name());
        String fields = sample.fields().toString();
        if (image == null) {
            return InputEntry.failed(id, ErrorCode.INVALID_REQUEST, "sample " + sample.key() + " of shard "
                    + split.label() + " has no image member (" + String.join(", ", MemberName.IMAGE_EXTENSIONS)
                    + ")").withSample(fields);
        }
        if (!image.regular()) {
            return InputEntry.failed(id, ErrorCode.INVALID_REQUEST,
                    "shard member " + id + " is not a regular file (a link or device)").withSample(fields);
        }
        if (image.size() > maxBytes) {
            return InputEntry.failed(id, ErrorCode.IMAGE_TOO_LARGE, tooLarge("shard member " + id, maxBytes))
                    .withSample(fields);
        }
        return InputEntry.inline(id, readBytes ? image.content() : new byte[0]).withSample(fields);
    }

    @Override
    public void close() throws IOException {
        if (reader != null) {
            reader.close();
        }
    }
}
