package dev.loupe.model.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Test access to one Hugging Face reference fixture under {@code <loupe.fixtures>/hf-reference/} (checkpoint,
 * reference.json, float32 tensors in tensors.safetensors) and the comparisons the parity tests share.
 */
public final class HfFixture {
    public static final HfFixture VICUNA = new HfFixture("instructblip-vicuna");
    public static final HfFixture LLAVA = new HfFixture("llava");
    public static final HfFixture BLIP2_OPT = new HfFixture("blip2-opt");

    private final String name;

    private HfFixture(String name) {
        this.name = name;
    }

    /** A fixture by its directory name. */
    public static HfFixture named(String name) {
        return new HfFixture(name);
    }

    /** {@code <loupe.fixtures>/hf-reference}; surefire sets the property. */
    public static Path root() {
        String dir = System.getProperty("loupe.fixtures");
        if (dir == null) {
            throw new IllegalStateException("system property loupe.fixtures is not set (surefire sets it)");
        }
        return Path.of(dir, "hf-reference");
    }

    /** One of the shared test images. */
    public static Path image(String file) {
        return root().resolve("images").resolve(file);
    }

    public Path dir() {
        return root().resolve(name);
    }

    public Path checkpoint() {
        return dir().resolve("checkpoint");
    }

    public JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(dir().resolve("reference.json").toFile());
    }

    public Path tensorsFile() {
        return dir().resolve("tensors.safetensors");
    }

    /** A float32 tensor of tensors.safetensors, flattened row-major. */
    public float[] tensor(String tensor) throws IOException {
        return readF32(tensorsFile(), tensor);
    }

    public long[] shape(String tensor) throws IOException {
        return info(SafetensorsCheckpoint.readHeader(tensorsFile()), tensorsFile(), tensor).shape();
    }

    /** The images of a stored pixel_values batch [B, 3, S, S]. */
    public List<ImageTensor> images(String tensor, int size) throws IOException {
        float[] all = tensor(tensor);
        int per = 3 * size * size;
        List<ImageTensor> out = new ArrayList<>();
        for (int b = 0; b < all.length / per; b++) {
            out.add(new ImageTensor(Arrays.copyOfRange(all, b * per, (b + 1) * per), 3, size, size));
        }
        return out;
    }

    /** A float32 tensor from a safetensors file, flattened row-major. */
    public static float[] readF32(Path file, String tensor) throws IOException {
        TensorInfo info = info(SafetensorsCheckpoint.readHeader(file), file, tensor);
        if (info.dtype() != DType.F32) {
            throw new IllegalArgumentException(tensor + " is " + info.dtype());
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

    private static TensorInfo info(Map<String, TensorInfo> header, Path file, String tensor) {
        TensorInfo info = header.get(tensor);
        if (info == null) {
            throw new IllegalArgumentException(file + " has no tensor " + tensor + "; it has " + header.keySet());
        }
        return info;
    }

    /** Rows of an int matrix in reference.json, each cut to its mask's length when a mask is given. */
    public static long[][] idRows(JsonNode values, JsonNode mask) {
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

    /** Row r of a padded id matrix with its mask's zeros left out. */
    public static int[] unpadded(JsonNode values, JsonNode mask, int r) {
        return IntStream.range(0, values.get(r).size())
                .filter(c -> mask.get(r).get(c).asInt() == 1)
                .map(c -> values.get(r).get(c).asInt()).toArray();
    }

    public static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }

    /** The largest absolute difference; NaN when any difference is NaN. */
    public static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (Float.isNaN(d)) {
                return d;
            }
            m = Math.max(m, d);
        }
        return m;
    }

    /** Row {@code row} of {@code rows} equal rows stored flat. */
    public static float[] slice(float[] all, int row, int rows) {
        int per = all.length / rows;
        return Arrays.copyOfRange(all, row * per, (row + 1) * per);
    }

    /** Rows concatenated into one flat array. */
    public static float[] flat(float[][] rows) {
        int n = Arrays.stream(rows).mapToInt(r -> r.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] r : rows) {
            System.arraycopy(r, 0, out, at, r.length);
            at += r.length;
        }
        return out;
    }
}
