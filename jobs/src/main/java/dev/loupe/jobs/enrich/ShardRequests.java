package dev.loupe.jobs.enrich;

import dev.loupe.flink.failure.Failures;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.ImageSource;
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
 * Turns a work-file line of a WebDataset enrichment ({@code column:uri}, then the shard, offset and size the
 * {@link SampleImage} located) into its request, reading the image's bytes from the shard in place. A member that
 * can no longer be read (the shard changed or went away since the plan) becomes a failure record on
 * {@link #FAILURES}, for the journal like any other.
 */
final class ShardRequests extends ProcessFunction<String, AnnotationRequest> {

    static final OutputTag<AnnotationFailure> FAILURES = new OutputTag<>("enrich-shard-failures", Failures.TYPE);

    private final Map<String, AddedColumn> columns;

    ShardRequests(Map<String, AddedColumn> columns) {
        this.columns = Map.copyOf(columns);
    }

    @Override
    public void processElement(String line, Context ctx, Collector<AnnotationRequest> out) {
        int sizeTab = line.lastIndexOf('\t');
        int offsetTab = line.lastIndexOf('\t', sizeTab - 1);
        int shardTab = line.lastIndexOf('\t', offsetTab - 1);
        String id = line.substring(0, shardTab);
        int colon = id.indexOf(':');
        AddedColumn column = columns.get(id.substring(0, colon));
        String uri = id.substring(colon + 1);
        try {
            byte[] bytes = read(Path.of(URI.create(line.substring(shardTab + 1, offsetTab))),
                    Long.parseLong(line.substring(offsetTab + 1, sizeTab)), Integer.parseInt(line.substring(sizeTab + 1)));
            out.collect(column.request(uri, ImageSource.newBuilder().setBytes(ByteBuffer.wrap(bytes)).build()));
        } catch (IOException | RuntimeException e) {
            ctx.output(FAILURES, AnnotationFailure.newBuilder()
                    .setId(id)
                    .setStage(Failures.FETCH)
                    .setErrorCode(ErrorCode.FETCH_FAILED.name())
                    .setMessage("cannot read " + uri + ": " + e.getMessage())
                    .setTimestampMillis(System.currentTimeMillis())
                    .build());
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
