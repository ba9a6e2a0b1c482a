package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.BoundSessions;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.OnnxModelWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.KeyValuePairs;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * The execution provider's memory as {@link DeviceBoundDecoder} uses it: buffers from the provider's allocator (the
 * CUDA arena on a GPU, the CPU arena on CPU), tensors over parts of them, and copies between them that run on the
 * provider itself, as two tiny graphs over every cache buffer of a model at once: a slot copy (Identity, for a row
 * moving into a freed slot) and a regather (Gather rows, Pad slots and positions, for growing the cache and
 * reordering beams). ONNX Runtime's own tensor copy API ({@code CopyTensors}) serves plugin providers only, so the
 * copies go through sessions, which every provider runs. Thread-safe (sessions and allocator are).
 */
final class DeviceMemory implements AutoCloseable {
    private final MemoryInfo info;
    private final Allocator allocator;
    private final Session slotCopy;
    private final Session regather;
    private final RunOptions run = new RunOptions();
    private final int buffers;
    private final DeviceKvElement element;

    private DeviceMemory(MemoryInfo info, Allocator allocator, Session slotCopy, Session regather, int buffers,
                         DeviceKvElement element) {
        this.info = info;
        this.allocator = allocator;
        this.slotCopy = slotCopy;
        this.regather = regather;
        this.buffers = buffers;
        this.element = element;
    }

    /**
     * The memory of {@code session}'s device with copy graphs over {@code buffers} cache buffers (two per layer) of
     * {@code element}s.
     */
    static DeviceMemory open(Session session, RuntimeOptions options, int buffers, DeviceKvElement element)
            throws IOException {
        MemoryInfo info = BoundSessions.deviceMemory(options);
        Allocator allocator = new Allocator(session, info.asOrtMemoryInfo());
        Session copy = null;
        Path dir = Files.createTempDirectory("loupe-device-copies");
        try {
            Path copyGraph = dir.resolve("slot_copy.onnx");
            OnnxModelWriter.write(slotCopyGraph(buffers, element.graphType()), copyGraph);
            copy = BoundSessions.open(copyGraph, options);
            Path regatherGraph = dir.resolve("regather.onnx");
            OnnxModelWriter.write(regatherGraph(buffers, element.graphType()), regatherGraph);
            return new DeviceMemory(info, allocator, copy, BoundSessions.open(regatherGraph, options), buffers,
                    element);
        } catch (IOException | RuntimeException e) {
            if (copy != null) {
                copy.close();
            }
            allocator.close();
            info.close();
            throw e;
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** y_i = x_i for every buffer: one slot of each buffer copied into another slot. */
    private static GraphBuilder slotCopyGraph(int buffers, DataType type) {
        GraphBuilder g = new GraphBuilder("slot_copy");
        for (int i = 0; i < buffers; i++) {
            String x = g.input("x" + i, type, "n");
            g.output(g.op("Identity", x), "y" + i, type, "n");
        }
        return g;
    }

    /** y_i = Pad(Gather(x_i, rows, axis 0), pads): slots chosen, then slots and positions added (zeros). */
    private static GraphBuilder regatherGraph(int buffers, DataType type) {
        GraphBuilder g = new GraphBuilder("regather");
        String rows = g.input("rows", DataType.INT64, "rows");
        String pads = g.input("pads", DataType.INT64, 8);
        for (int i = 0; i < buffers; i++) {
            String x = g.input("x" + i, type, "slots", "heads", "capacity", "head_dim");
            String y = g.op("Pad", Map.of("mode", "constant"), g.gather(x, rows, 0), pads);
            g.output(y, "y" + i, type, "new_slots", "heads", "new_capacity", "head_dim");
        }
        return g;
    }

    MemoryInfo info() {
        return info;
    }

    /** A buffer of {@code bytes} bytes in the device's memory (contents undefined). */
    Pointer allocate(long bytes) {
        Pointer p = allocator.Alloc(bytes);
        if (p == null || p.isNull()) {
            throw new IllegalStateException("the device allocator returned no memory for " + bytes + " bytes");
        }
        return p;
    }

    void free(Pointer p) {
        allocator.Free(p);
    }

    /** The element type of the cache buffers this memory's copy graphs move. */
    DeviceKvElement element() {
        return element;
    }

    /** A cache tensor over {@code count} {@link #element()}s of {@code base} from element {@code from}. */
    Value elements(Pointer base, long from, long count, long... shape) {
        return tensor(info, base, from * element.bytes(), count * element.bytes(), element.tensorType(), shape);
    }

    /** A float tensor over {@code floats} floats of {@code base} from float {@code from}. */
    Value floats(Pointer base, long from, long floats, long... shape) {
        return tensor(info, base, from * Float.BYTES, floats * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                shape);
    }

    /** A tensor of {@code type} over {@code bytes} bytes of {@code base} from byte {@code offset}, in {@code mem}. */
    static Value tensor(MemoryInfo mem, Pointer base, long offset, long bytes, int type, long... shape) {
        return BoundSessions.tensor(mem, base, offset, bytes, type, shape);
    }

    /** {@code to[i] = from[i]} for every buffer (equal sizes, device tensors). */
    void copy(Value[] from, Value[] to) {
        try (IoBinding b = new IoBinding(slotCopy)) {
            for (int i = 0; i < buffers; i++) {
                b.BindInput("x" + i, from[i]);
                b.BindOutput("y" + i, to[i]);
            }
            slotCopy.Run(run, b);
        }
    }

    /**
     * {@code to[i] = Pad(from[i][rows], slots + addSlots, positions + addPositions)}: the rows of every buffer in the
     * given order, then {@code addSlots} empty slots and {@code addPositions} empty positions per slot.
     */
    void regather(Value[] from, Value[] to, int[] rows, int addSlots, int addPositions) {
        long[] r = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            r[i] = rows[i];
        }
        try (MemoryInfo host = BoundSessions.hostMemory();
             LongPointer rowData = new LongPointer(r);
             LongPointer padData = new LongPointer(0, 0, 0, 0, addSlots, 0, addPositions, 0);
             Value rowTensor = Value.CreateTensor(host.asOrtMemoryInfo(), rowData, (long) r.length * Long.BYTES,
                     new long[] {r.length}, 1, org.bytedeco.onnxruntime.global.onnxruntime
                             .ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
             Value padTensor = Value.CreateTensor(host.asOrtMemoryInfo(), padData, 8L * Long.BYTES,
                     new long[] {8}, 1, org.bytedeco.onnxruntime.global.onnxruntime
                             .ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
             IoBinding b = new IoBinding(regather)) {
            b.BindInput("rows", rowTensor);
            b.BindInput("pads", padTensor);
            for (int i = 0; i < buffers; i++) {
                b.BindInput("x" + i, from[i]);
                b.BindOutput("y" + i, to[i]);
            }
            regather.Run(run, b);
        }
    }

    /**
     * The device allocator's statistics as ONNX Runtime reports them (for an arena: {@code InUse},
     * {@code MaxInUse}, {@code TotalAllocated}, {@code Limit} ... in bytes); empty where the allocator keeps none.
     */
    Map<String, Long> stats() {
        Map<String, Long> out = new LinkedHashMap<>();
        try (KeyValuePairs kv = allocator.GetStats()) {
            org.bytedeco.onnxruntime.StringStringMap map = kv.GetKeyValuePairs();
            for (var it = map.begin(); !it.equals(map.end()); it = it.increment()) {
                try {
                    out.put(it.first().getString(), Long.parseLong(it.second().getString().trim()));
                } catch (NumberFormatException e) {
                    // a statistic that is not a byte count: not reported
                }
            }
        } catch (RuntimeException e) {
            // the allocator keeps no statistics
        }
        return out;
    }

    @Override
    public void close() {
        slotCopy.close();
        regather.close();
        run.close();
        allocator.close();
        info.close();
    }
}
