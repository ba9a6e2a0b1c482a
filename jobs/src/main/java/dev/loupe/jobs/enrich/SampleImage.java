package dev.loupe.jobs.enrich;

import dev.loupe.jobs.webdataset.MemberName;
import dev.loupe.jobs.webdataset.ShardMember;
import dev.loupe.jobs.webdataset.ShardSample;
import dev.loupe.model.api.ErrorCode;
import java.nio.file.Path;

/**
 * A WebDataset sample's image as the enrichment sees it: its key in the journal
 * ({@code file:///.../00000.tar!/000000000.jpg}) and where its bytes are in the shard (offset and size), or why the
 * sample cannot be annotated ({@code CODE: message}).
 */
record SampleImage(String key, long offset, long size, String error) {

    static SampleImage of(Path shard, ShardSample sample, String extension, long maxBytes) {
        ShardMember image = sample.image(extension);
        String where = "sample " + sample.key() + " of shard " + shard;
        if (image == null) {
            return failed(ErrorCode.INVALID_REQUEST, where + " has no image member (" + (extension != null
                    ? "." + extension : String.join(", ", MemberName.IMAGE_EXTENSIONS)) + ")");
        }
        if (!image.regular()) {
            return failed(ErrorCode.INVALID_REQUEST, where + ": member " + image.name()
                    + " is not a regular file (a link or device)");
        }
        if (image.name().chars().anyMatch(c -> c == '\n' || c == '\r' || c == '\t')) {
            return failed(ErrorCode.INVALID_REQUEST, where + ": member name " + image.name().strip()
                    + " holds a line break or tab");
        }
        if (image.size() > maxBytes) {
            return failed(ErrorCode.IMAGE_TOO_LARGE, where + ": member " + image.name() + " is larger than the "
                    + maxBytes + "-byte limit (loupe.fetch.max-bytes)");
        }
        return new SampleImage(shard.toUri() + "!/" + image.name(), image.offset(), image.size(), null);
    }

    private static SampleImage failed(ErrorCode code, String message) {
        return new SampleImage(null, -1, -1, code + ": " + message);
    }
}
