package dev.loupe.model.llm;

import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Reads float32 tensors from a fixture's {@code tensors.safetensors} (test helper). */
final class FixtureTensors {
    private final Path file;
    private final Map<String, TensorInfo> header;

    FixtureTensors(Path file) throws IOException {
        this.file = file;
        this.header = SafetensorsCheckpoint.readHeader(file);
    }

    long[] shape(String name) {
        return info(name).shape();
    }

    float[] floats(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + " is " + info.dtype());
        }
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(info.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                if (ch.read(buf, info.offset() + buf.position()) < 0) {
                    throw new IOException("truncated " + file);
                }
            }
        }
        buf.flip();
        float[] out = new float[Math.toIntExact(info.elementCount())];
        buf.asFloatBuffer().get(out);
        return out;
    }

    private TensorInfo info(String name) {
        TensorInfo info = header.get(name);
        if (info == null) {
            throw new IllegalArgumentException(file + " has no tensor " + name + "; it has " + header.keySet());
        }
        return info;
    }
}
