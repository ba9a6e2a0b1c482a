package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a float32 safetensors file whose tensors are produced one at a time (header first, then each tensor's
 * data in declaration order), so a large generated checkpoint never sits whole on the heap.
 */
final class SafetensorsStreamWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Produces one tensor's values, row-major. */
    interface Values {
        float[] produce(String name, long[] shape);
    }

    private record Declared(String name, long[] shape) {
        long count() {
            long c = 1;
            for (long d : shape) {
                c *= d;
            }
            return c;
        }
    }

    private final List<Declared> tensors = new ArrayList<>();

    /** Declares the next tensor (names must be unique). */
    void declare(String name, long... shape) {
        for (Declared d : tensors) {
            if (d.name().equals(name)) {
                throw new IllegalArgumentException("tensor declared twice: " + name);
            }
        }
        tensors.add(new Declared(name, shape.clone()));
    }

    long parameterCount() {
        return tensors.stream().mapToLong(Declared::count).sum();
    }

    void write(Path file, Values values) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Declared d : tensors) {
            ObjectNode t = header.putObject(d.name());
            t.put("dtype", "F32");
            ArrayNode shape = t.putArray("shape");
            for (long s : d.shape()) {
                shape.add(s);
            }
            long len = d.count() * Float.BYTES;
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        byte[] padded = new byte[(json.length + 7) / 8 * 8];
        Arrays.fill(padded, (byte) ' ');
        System.arraycopy(json, 0, padded, 0, json.length);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).array());
            out.write(padded);
            ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (Declared d : tensors) {
                float[] v = values.produce(d.name(), d.shape());
                if (v.length != d.count()) {
                    throw new IllegalStateException(d.name() + ": produced " + v.length + " values, shape needs "
                            + d.count());
                }
                for (float f : v) {
                    if (!chunk.hasRemaining()) {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                    }
                    chunk.putFloat(f);
                }
            }
            out.write(chunk.array(), 0, chunk.position());
        }
    }
}
