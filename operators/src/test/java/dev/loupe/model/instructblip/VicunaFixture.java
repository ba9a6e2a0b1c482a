package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Test access to the instructblip-vicuna reference fixture: checkpoint, reference.json and full tensors. */
final class VicunaFixture {
    private VicunaFixture() {}

    static Path dir() {
        String root = System.getProperty("loupe.fixtures");
        if (root == null) {
            throw new IllegalStateException("system property loupe.fixtures is not set");
        }
        return Path.of(root, "hf-reference", "instructblip-vicuna");
    }

    static Path checkpoint() {
        return dir().resolve("checkpoint");
    }

    static JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(dir().resolve("reference.json").toFile());
    }

    /** A float32 tensor of tensors.safetensors. */
    static float[] tensor(String name) throws IOException {
        return tensor(dir(), name);
    }

    /** A float32 tensor of another fixture folder's tensors.safetensors. */
    static float[] tensor(Path fixtureDir, String name) throws IOException {
        Path file = fixtureDir.resolve("tensors.safetensors");
        Map<String, TensorInfo> header = SafetensorsCheckpoint.readHeader(file);
        TensorInfo info = header.get(name);
        if (info == null) {
            throw new IllegalArgumentException("tensors.safetensors has no " + name + "; has " + header.keySet());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer bb = ByteBuffer.allocate((int) info.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
            while (bb.hasRemaining()) {
                ch.read(bb, info.offset() + bb.position());
            }
            float[] out = new float[(int) info.elementCount()];
            bb.flip().asFloatBuffer().get(out);
            return out;
        }
    }

    /** The images of a stored pixel_values batch [B, 3, S, S]. */
    static List<ImageTensor> images(String name, int size) throws IOException {
        return images(dir(), name, size);
    }

    static List<ImageTensor> images(Path fixtureDir, String name, int size) throws IOException {
        float[] all = tensor(fixtureDir, name);
        int per = 3 * size * size;
        List<ImageTensor> out = new ArrayList<>();
        for (int b = 0; b < all.length / per; b++) {
            out.add(new ImageTensor(java.util.Arrays.copyOfRange(all, b * per, (b + 1) * per), 3, size, size));
        }
        return out;
    }

    /** Rows of an int matrix in reference.json, each cut to its mask's length when a mask is given. */
    static long[][] idRows(JsonNode values, JsonNode mask) {
        long[][] rows = new long[values.size()][];
        for (int r = 0; r < rows.length; r++) {
            List<Long> row = new ArrayList<>();
            for (int c = 0; c < values.get(r).size(); c++) {
                if (mask == null || mask.get(r).get(c).asInt() == 1) {
                    row.add(values.get(r).get(c).asLong());
                }
            }
            rows[r] = row.stream().mapToLong(Long::longValue).toArray();
        }
        return rows;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (!(d <= m)) {
                m = Float.isNaN(d) ? Float.NaN : d;
                if (Float.isNaN(d)) {
                    return d;
                }
            }
        }
        return m;
    }

    static float[] slice(float[] all, int row, int rows) {
        int per = all.length / rows;
        return java.util.Arrays.copyOfRange(all, row * per, (row + 1) * per);
    }
}
