package dev.loupe.flink.testing;

import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.AvroSerializer;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/** Builds encoded request values as a producer would put them on the requests topic. */
public final class TestRequests {
    private static final AvroSerializer<AnnotationRequest> SERIALIZER = new AvroSerializer<>(AnnotationRequest.class);

    private TestRequests() {}

    public static AnnotationRequest.Builder uri(String id, String uri) {
        return base(id).setImage(ImageSource.newBuilder().setUri(uri).build());
    }

    public static AnnotationRequest.Builder inline(String id, byte[] image) {
        return base(id).setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(image)).build());
    }

    public static byte[] encode(AnnotationRequest.Builder request) {
        return SERIALIZER.serialize(request.build());
    }

    private static AnnotationRequest.Builder base(String id) {
        return AnnotationRequest.newBuilder()
                .setId(id)
                .setTask(Task.CAPTION)
                .setCandidates(List.of())
                .setOcrTokens(List.of())
                .setMetadata(Map.of("source", "test"));
    }
}
