package dev.loupe.jobs.enrich;

import dev.loupe.flink.failure.Failures;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Turns a work-file line of a WebDataset enrichment ({@link ShardImageLine}) into the requests for its columns,
 * reading the image's bytes once, in place, from the shard. A member that can no longer be read (the shard changed
 * or went away since the plan) becomes a failure record per column on {@link #FAILURES}, for the journal like any
 * other.
 */
final class ShardRequests extends ProcessFunction<String, AnnotationRequest> {

    static final OutputTag<AnnotationFailure> FAILURES = new OutputTag<>("enrich-shard-failures", Failures.TYPE);

    private final Map<String, AddedColumn> columns;

    ShardRequests(Map<String, AddedColumn> columns) {
        this.columns = Map.copyOf(columns);
    }

    @Override
    public void processElement(String line, Context ctx, Collector<AnnotationRequest> out) {
        ShardImageLine image = ShardImageLine.parse(line);
        byte[] bytes;
        try {
            bytes = read(Path.of(URI.create(image.shard())), image.offset(), image.size());
        } catch (IOException | RuntimeException e) {
            for (String column : image.columns()) {
                ctx.output(FAILURES, AnnotationFailure.newBuilder()
                        .setId(AddedColumn.requestId(column, image.key()))
                        .setStage(Failures.FETCH)
                        .setErrorCode(ErrorCode.FETCH_FAILED.name())
                        .setMessage("cannot read " + image.key() + ": " + e.getMessage())
                        .setTimestampMillis(System.currentTimeMillis())
                        .build());
            }
            return;
        }
        for (String column : image.columns()) {
            out.collect(columns.get(column).request(image.key(), bytes));
        }
    }

    private static byte[] read(Path shard, long offset, int size) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(size);
        try (FileChannel channel = FileChannel.open(shard, StandardOpenOption.READ)) {
            while (bytes.hasRemaining()) {
                if (channel.read(bytes, offset + bytes.position()) < 0) {
                    throw new IOException("the shard ends inside the member (" + bytes.position() + " of " + size
                            + " bytes)");
                }
            }
        }
        return bytes.array();
    }
}
