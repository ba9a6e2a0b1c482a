package dev.loupe.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of a Hugging Face checkpoint: one {@code model.safetensors} or shards listed by
 * {@code model.safetensors.index.json}. Only headers are parsed up front; tensor bytes are memory-mapped when asked
 * for and decoded range by range ({@link #floatReader}), so a 7B checkpoint never sits on the Java heap and a single
 * tensor may exceed 2 GiB (it is mapped in 1 GiB windows).
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private final Map<String, TensorInfo> tensors;
    private final Map<Path, FileChannel> channels = new LinkedHashMap<>();

    private SafetensorsCheckpoint(Map<String, TensorInfo> tensors) {
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Opens the safetensors weights of a checkpoint directory (single file or sharded with an index). */
    public static SafetensorsCheckpoint open(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Map<String, TensorInfo> all = new LinkedHashMap<>();
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = JSON.readTree(index.toFile()).path("weight_map");
            if (!weightMap.isObject()) {
                throw new IOException(index + " has no weight_map object");
            }
            Set<String> shards = new TreeSet<>();
            weightMap.fields().forEachRemaining(e -> shards.add(e.getValue().asText()));
            for (String shard : shards) {
                Path file = dir.resolve(shard).normalize();
                if (!file.startsWith(dir.normalize())) {
                    throw new IOException("shard " + shard + " escapes the checkpoint directory");
                }
                all.putAll(readHeader(file));
            }
            for (Iterator<String> it = weightMap.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!all.containsKey(name)) {
                    throw new IOException("index lists " + name + " but shard " + weightMap.get(name).asText()
                            + " does not hold it");
                }
            }
        } else {
            Path single = dir.resolve("model.safetensors");
            if (!Files.isRegularFile(single)) {
                throw new IOException("no model.safetensors or model.safetensors.index.json in " + dir);
            }
            all.putAll(readHeader(single));
        }
        return new SafetensorsCheckpoint(all);
    }

    /** Parses one file's header. Public for tools that inspect a single file. */
    public static Map<String, TensorInfo> readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long headerLen = len.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > ch.size()) {
                throw new IOException(file + " is not a safetensors file (header length " + headerLen + ")");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
            long dataStart = 8 + headerLen;
            long dataLen = ch.size() - dataStart;
            Map<String, TensorInfo> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                DType dtype = DType.fromSafetensors(t.path("dtype").asText());
                JsonNode shapeNode = t.path("shape");
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                }
                long begin = t.path("data_offsets").get(0).asLong();
                long end = t.path("data_offsets").get(1).asLong();
                TensorInfo info = new TensorInfo(e.getKey(), dtype, shape, file, dataStart + begin, end - begin);
                if (begin < 0 || end > dataLen || end - begin != info.elementCount() * dtype.bytes()) {
                    throw new IOException(file + ": tensor " + e.getKey() + " has inconsistent offsets");
                }
                out.put(e.getKey(), info);
            }
            return out;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException("checkpoint has no tensor " + name);
        }
        return info;
    }

    /**
     * The tensor's bytes as stored (little-endian), memory-mapped, read-only, as one buffer: tensors up to 2 GiB
     * (Java's buffer limit). Conversion reads weights through {@link #floatReader}, which has no such limit.
     */
    public synchronized ByteBuffer raw(String name) {
        TensorInfo info = info(name);
        try {
            FileChannel ch = channels.get(info.file());
            if (ch == null) {
                ch = FileChannel.open(info.file(), StandardOpenOption.READ);
                channels.put(info.file(), ch);
            }
            if (info.byteLength() > Integer.MAX_VALUE) {
                throw new IOException("tensor " + name + " is over 2 GiB; split it before converting");
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, info.offset(), info.byteLength())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A reader that decodes a float tensor (F32, F16 or BF16) to float32 range by range, straight from the mapped
     * file; tensors of any size (also over 2 GiB) are mapped in windows of at most {@value #MAP_WINDOW_BYTES} bytes.
     */
    public FloatReader floatReader(String name) {
        return floatReader(name, MAP_WINDOW_BYTES);
    }

    /** As {@link #floatReader(String)} with another mapping window (tests use tiny windows). */
    FloatReader floatReader(String name, long windowBytes) {
        TensorInfo info = info(name);
        if (info.dtype() != DType.F32 && info.dtype() != DType.F16 && info.dtype() != DType.BF16) {
            throw new IllegalArgumentException(name + " is " + info.dtype() + ", not a float tensor");
        }
        return new FloatReader(info, channel(info), windowBytes);
    }

    private synchronized FileChannel channel(TensorInfo info) {
        try {
            FileChannel ch = channels.get(info.file());
            if (ch == null) {
                ch = FileChannel.open(info.file(), StandardOpenOption.READ);
                channels.put(info.file(), ch);
            }
            return ch;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Largest mapping a {@link FloatReader} makes at once. */
    static final long MAP_WINDOW_BYTES = 1L << 30;

    /** Sequential or random range reads of one float tensor; not thread-safe (one writer thread uses it). */
    public static final class FloatReader {
        private static final float[] HALF_TO_FLOAT = new float[1 << 16];

        static {
            for (int i = 0; i < HALF_TO_FLOAT.length; i++) {
                HALF_TO_FLOAT[i] = HalfFloats.halfToFloat((short) i);
            }
        }

        private final TensorInfo info;
        private final FileChannel channel;
        private final int elementBytes;
        private final long windowElements;
        private ByteBuffer window;
        private FloatBuffer windowFloats;
        private long windowStart = -1;

        private FloatReader(TensorInfo info, FileChannel channel, long windowBytes) {
            this.info = info;
            this.channel = channel;
            this.elementBytes = info.dtype().bytes();
            this.windowElements = Math.max(1, windowBytes / elementBytes);
        }

        public long elementCount() {
            return info.elementCount();
        }

        /** Decodes elements [start, start + len) into dst[off..]. */
        public void read(long start, float[] dst, int off, int len) {
            if (start < 0 || len < 0 || start + len > info.elementCount()) {
                throw new IndexOutOfBoundsException(info.name() + ": range [" + start + ", " + (start + len) + ")");
            }
            while (len > 0) {
                long w = start / windowElements * windowElements;
                if (w != windowStart) {
                    map(w);
                }
                int at = (int) (start - w);
                int n = (int) Math.min(len, window.capacity() / elementBytes - at);
                decode(at, dst, off, n);
                start += n;
                off += n;
                len -= n;
            }
        }

        private void map(long firstElement) {
            long bytes = Math.min(windowElements, info.elementCount() - firstElement) * elementBytes;
            try {
                window = channel.map(FileChannel.MapMode.READ_ONLY, info.offset() + firstElement * elementBytes, bytes)
                        .order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            windowFloats = info.dtype() == DType.F32 ? window.asFloatBuffer() : null;
            windowStart = firstElement;
        }

        private void decode(int at, float[] dst, int off, int n) {
            switch (info.dtype()) {
                case F32 -> windowFloats.get(at, dst, off, n);
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        dst[off + i] = HALF_TO_FLOAT[window.getShort(2 * (at + i)) & 0xffff];
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        dst[off + i] = Float.intBitsToFloat((window.getShort(2 * (at + i)) & 0xffff) << 16);
                    }
                }
                default -> throw new IllegalStateException(info.dtype().toString());
            }
        }
    }

    /**
     * The tensor converted to float32 (from F32, F16 or BF16). Heap-allocates this one tensor: for small tensors
     * and tests; converters stream through {@link #floatReader} instead.
     */
    public float[] floats(String name) {
        TensorInfo info = info(name);
        ByteBuffer raw = raw(name);
        float[] out = new float[Math.toIntExact(info.elementCount())];
        switch (info.dtype()) {
            case F32 -> {
                FloatBuffer fb = raw.asFloatBuffer();
                fb.get(out);
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.halfToFloat(raw.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloats.bf16ToFloat(raw.getShort(2 * i));
                }
            }
            default -> throw new IllegalArgumentException(name + " is " + info.dtype() + ", not a float tensor");
        }
        return out;
    }

    @Override
    public synchronized void close() {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing a read-only channel: nothing to recover
            }
        }
        channels.clear();
    }
}
