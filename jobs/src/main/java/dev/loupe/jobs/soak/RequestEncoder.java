package dev.loupe.jobs.soak;

import dev.loupe.schemas.AnnotationRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * Encodes the soak's requests as plain Avro values (the bytes {@code AvroSerializer} writes) through one reused
 * buffer, and reads images from their files into another. The soak's writer runs in the job's JVM inside the
 * measured window: with a fresh growing stream per request (a 95 KB JPEG inline took about four times its size in
 * intermediate arrays) and a fresh array per file read, it allocated more than the job itself, and the young
 * collections that garbage caused ran on the cores the job computes on. Not thread-safe: one writer at a time.
 */
final class RequestEncoder {

    private final SpecificDatumWriter<AnnotationRequest> writer =
            new SpecificDatumWriter<>(AnnotationRequest.getClassSchema());
    private final Buffer out = new Buffer();
    private BinaryEncoder encoder;
    private byte[] file = new byte[0];

    /** The Avro encoding of {@code request}, in an array of its own. */
    byte[] encode(AnnotationRequest request) {
        out.reset();
        encoder = EncoderFactory.get().directBinaryEncoder(out, encoder);
        try {
            writer.write(request, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode soak request " + request.getId(), e);
        }
        return out.toByteArray();
    }

    /**
     * The bytes of {@code path}, in a buffer this encoder reuses: valid until the next call, so encode the request
     * that carries them before reading another file.
     */
    ByteBuffer read(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            int n = 0;
            for (int r; (r = in.read(file, n, file.length - n)) >= 0; ) {
                n += r;
                if (n == file.length) {
                    file = Arrays.copyOf(file, Math.max(64 << 10, file.length * 2));
                }
            }
            return ByteBuffer.wrap(file, 0, n);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the soak's image " + path, e);
        }
    }

    /** A byte stream whose array is kept between requests (grown to the largest request once). */
    private static final class Buffer extends ByteArrayOutputStream {
        Buffer() {
            super(128 << 10);
        }
    }
}
