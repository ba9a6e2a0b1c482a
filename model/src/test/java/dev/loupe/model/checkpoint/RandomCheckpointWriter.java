package dev.loupe.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Test tool: writes float tensors as a Hugging Face safetensors checkpoint (F32, F16 or BF16; one
 * {@code model.safetensors} or {@code shards} files {@code model-0000i-of-0000n.safetensors} plus
 * {@code model.safetensors.index.json}), to build random-weight models of any layout and half-precision copies
 * of fixtures. Tensors are written in the iteration order of {@code values}.
 */
public final class RandomCheckpointWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RandomCheckpointWriter() {}

    /**
     * Writes the tensors into dir (created if needed). shapes must give every tensor's shape; shards &lt;= 1
     * writes a single file.
     */
    public static void write(Path dir, Map<String, float[]> values, Map<String, long[]> shapes, DType dtype,
                             int shards) throws IOException {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("only F32, F16 and BF16 are written, not " + dtype);
        }
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>(values.keySet());
        for (String n : names) {
            long[] shape = shapes.get(n);
            if (shape == null) {
                throw new IllegalArgumentException("no shape for " + n);
            }
            long count = 1;
            for (long d : shape) {
                count *= d;
            }
            if (count != values.get(n).length) {
                throw new IllegalArgumentException(n + ": shape needs " + count + " values, got " + values.get(n).length);
            }
        }
        if (shards <= 1) {
            writeFile(dir.resolve("model.safetensors"), names, values, shapes, dtype);
            return;
        }
        int n = Math.min(shards, Math.max(1, names.size()));
        ObjectNode index = JSON.createObjectNode();
        ObjectNode weightMap = JSON.createObjectNode();
        long total = 0;
        for (int s = 0; s < n; s++) {
            List<String> part = names.subList(s * names.size() / n, (s + 1) * names.size() / n);
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, n);
            writeFile(dir.resolve(file), part, values, shapes, dtype);
            for (String name : part) {
                weightMap.put(name, file);
                total += (long) values.get(name).length * dtype.bytes();
            }
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", weightMap);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    /** Copies a checkpoint directory's JSON/tokenizer files and rewrites its float tensors as dtype. */
    public static void copyAs(Path srcDir, Path dstDir, DType dtype, int shards) throws IOException {
        Files.createDirectories(dstDir);
        try (Stream<Path> files = Files.list(srcDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.endsWith(".safetensors") && !name.equals("model.safetensors.index.json")) {
                    Files.copy(f, dstDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(srcDir)) {
            for (String n : ckpt.names()) {
                values.put(n, ckpt.floats(n));
                shapes.put(n, ckpt.info(n).shape());
            }
        }
        write(dstDir, values, shapes, dtype, shards);
    }

    /** count values drawn from N(0, std^2), reproducible from seed. */
    public static float[] randomValues(long seed, int count, double std) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            // Box-Muller: the JDK's SplittableRandom has no nextGaussian on Java 17
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            out[i] = (float) (std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return out;
    }

    /** Seeded random values for a tensor of the given shape (the seed mixed with the name, so tensors differ). */
    public static float[] randomValues(long seed, String name, long[] shape, double std) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        return randomValues(seed * 31 + name.hashCode(), Math.toIntExact(count), std);
    }

    /** The value v becomes once stored as dtype and read back as float. */
    public static float rounded(float v, DType dtype) {
        return switch (dtype) {
            case F32 -> v;
            case F16 -> HalfFloats.halfToFloat(HalfFloats.floatToHalf(v));
            case BF16 -> HalfFloats.bf16ToFloat(floatToBf16(v));
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /** Round-to-nearest-even float to bfloat16 (NaN stays NaN). */
    public static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static void writeFile(Path file, List<String> names, Map<String, float[]> values,
                                  Map<String, long[]> shapes, DType dtype) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (String n : names) {
            ObjectNode t = header.putObject(n);
            t.put("dtype", dtype.name());
            var shape = t.putArray("shape");
            for (long d : shapes.get(n)) {
                shape.add(d);
            }
            long len = (long) values.get(n).length * dtype.bytes();
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        java.util.Arrays.fill(headerBytes, (byte) ' ');
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerBytes);
            for (String n : names) {
                out.write(encode(values.get(n), dtype).array());
            }
        }
    }

    private static ByteBuffer encode(float[] v, DType dtype) {
        ByteBuffer bb = ByteBuffer.allocate(v.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            switch (dtype) {
                case F32 -> bb.putFloat(f);
                case F16 -> bb.putShort(HalfFloats.floatToHalf(f));
                case BF16 -> bb.putShort(floatToBf16(f));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return bb;
    }
}
