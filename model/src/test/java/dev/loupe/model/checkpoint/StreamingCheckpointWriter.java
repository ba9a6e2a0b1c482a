package dev.loupe.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Test tool: writes a safetensors checkpoint of any size without holding it in memory. Values are produced chunk by
 * chunk by a {@link Values} function and encoded straight to the file; tensors are cut into shards of at most
 * {@code maxShardBytes} (plus {@code model.safetensors.index.json}), as Hugging Face saves large models.
 */
public final class StreamingCheckpointWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    /** A tensor to write: name and shape. */
    public record Tensor(String name, long... shape) {
        public long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Produces values [start, start + len) of a tensor. */
    public interface Values {
        void fill(Tensor tensor, long start, float[] dst, int len);
    }

    private StreamingCheckpointWriter() {}

    /** Writes the tensors as shards of at most maxShardBytes each; returns the total bytes of tensor data. */
    public static long write(Path dir, List<Tensor> tensors, DType dtype, long maxShardBytes, Values values)
            throws IOException {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("only F32, F16 and BF16 are written, not " + dtype);
        }
        Files.createDirectories(dir);
        List<List<Tensor>> shards = new ArrayList<>();
        long size = Long.MAX_VALUE;
        for (Tensor t : tensors) {
            long bytes = t.count() * dtype.bytes();
            if (shards.isEmpty() || (size + bytes > maxShardBytes && size > 0)) {
                shards.add(new ArrayList<>());
                size = 0;
            }
            shards.get(shards.size() - 1).add(t);
            size += bytes;
        }
        ObjectNode weightMap = JSON.createObjectNode();
        long total = 0;
        for (int s = 0; s < shards.size(); s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            total += writeShard(dir.resolve(file), shards.get(s), dtype, values);
            for (Tensor t : shards.get(s)) {
                weightMap.put(t.name(), file);
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", weightMap);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        return total;
    }

    private static long writeShard(Path file, List<Tensor> tensors, DType dtype, Values values) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode h = header.putObject(t.name());
            h.put("dtype", dtype.name());
            var shape = h.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long len = t.count() * dtype.bytes();
            h.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        float[] chunk = new float[CHUNK];
        ByteBuffer bytes = ByteBuffer.allocateDirect(CHUNK * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            head.flip();
            while (head.hasRemaining()) {
                ch.write(head);
            }
            for (Tensor t : tensors) {
                long n = t.count();
                for (long pos = 0; pos < n; pos += CHUNK) {
                    int len = (int) Math.min(CHUNK, n - pos);
                    values.fill(t, pos, chunk, len);
                    bytes.clear();
                    for (int i = 0; i < len; i++) {
                        switch (dtype) {
                            case F32 -> bytes.putFloat(chunk[i]);
                            case F16 -> bytes.putShort(HalfFloats.floatToHalf(chunk[i]));
                            default -> bytes.putShort(RandomCheckpointWriter.floatToBf16(chunk[i]));
                        }
                    }
                    bytes.flip();
                    while (bytes.hasRemaining()) {
                        ch.write(bytes);
                    }
                }
            }
        }
        return offset;
    }

    /**
     * Seeded uniform random values with standard deviation std, except norm weights (1 plus such noise);
     * reproducible for equal chunk boundaries.
     */
    public static Values random(long seed, double std) {
        double a = std * Math.sqrt(3);
        return (t, start, dst, len) -> {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + t.name().hashCode() * 31L + start);
            boolean norm = t.name().endsWith(".weight") && t.name().toLowerCase().contains("norm");
            for (int i = 0; i < len; i++) {
                float u = (float) ((r.nextDouble() * 2 - 1) * a);
                dst[i] = norm ? 1 + u : u;
            }
        };
    }
}
