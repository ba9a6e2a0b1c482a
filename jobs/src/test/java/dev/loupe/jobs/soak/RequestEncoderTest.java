package dev.loupe.jobs.soak;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.AvroSerializer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestEncoderTest {

    private final AvroSerializer<AnnotationRequest> plain = new AvroSerializer<>(AnnotationRequest.class);

    @Test
    void eachValueIsThePlainAvroEncodingOfItsRequestWhateverCameBefore() {
        RequestEncoder encoder = new RequestEncoder();
        AnnotationRequest large = request("large", bytes(300_000, 1));
        AnnotationRequest small = request("small", bytes(10, 2));
        byte[] first = encoder.encode(large);
        byte[] second = encoder.encode(small);

        assertThat(first).isEqualTo(plain.serialize(large));
        assertThat(second).as("nothing of the larger request before it").isEqualTo(plain.serialize(small));
        assertThat(first).as("a value is an array of its own").isEqualTo(plain.serialize(large));
    }

    @Test
    void aFileIsReadWholeIntoTheReusedBufferEvenAfterALargerOne(@TempDir Path dir) throws Exception {
        RequestEncoder encoder = new RequestEncoder();
        Path large = Files.write(dir.resolve("large.jpg"), bytes(200_000, 3));
        Path small = Files.write(dir.resolve("small.jpg"), bytes(1_000, 4));
        Path empty = Files.write(dir.resolve("empty.jpg"), new byte[0]);

        assertThat(remaining(encoder.read(large))).isEqualTo(Files.readAllBytes(large));
        assertThat(remaining(encoder.read(small))).isEqualTo(Files.readAllBytes(small));
        assertThat(encoder.read(empty).remaining()).isZero();
    }

    private static AnnotationRequest request(String id, byte[] image) {
        return AnnotationRequest.newBuilder().setId(id).setTask(Task.CAPTION)
                .setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(image)).build()).build();
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] remaining(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
