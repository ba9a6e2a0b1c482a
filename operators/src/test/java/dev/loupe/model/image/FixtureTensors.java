package dev.loupe.model.image;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.checkpoint.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Test access to the Hugging Face reference fixtures (float32 tensors in tensors.safetensors). */
public final class FixtureTensors {
    private FixtureTensors() {
    }

    public static Path fixtures() {
        String dir = System.getProperty("loupe.fixtures");
        if (dir == null) {
            throw new IllegalStateException("system property loupe.fixtures is not set (surefire sets it)");
        }
        return Paths.get(dir).resolve("hf-reference");
    }

    public static Path vicuna() {
        return fixtures().resolve("instructblip-vicuna");
    }

    /** A float32 tensor from a safetensors file, flattened row-major. */
    public static float[] readF32(Path file, String name) throws IOException {
        Map<String, TensorInfo> header = SafetensorsCheckpoint.readHeader(file);
        TensorInfo info = header.get(name);
        if (info == null) {
            throw new IllegalArgumentException(name + " not in " + file + "; names: " + header.keySet());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) info.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(buf, info.offset());
            buf.flip();
            float[] out = new float[(int) info.elementCount()];
            buf.asFloatBuffer().get(out);
            return out;
        }
    }
}
