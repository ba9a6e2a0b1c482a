package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.BoundSessions;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.GraphSessions;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * Where an image side bound to the device (InstructBLIP's and BLIP-2's {@code BoundImageSide}, LLaVA's
 * {@code BoundLlavaImageSide}) keeps its outputs: buffers from a session's allocator in the execution provider's
 * memory, handed to the decoder's prefill as reference-counted {@link DeviceRows} (counted while alive, so a leak
 * shows), and a one-node Gather graph that picks rows of a block — into another device buffer (rows that repeat an
 * image) or into host memory (stage parity checks). Thread-safe.
 */
public final class DeviceBlocks implements AutoCloseable {
    private final MemoryInfo device;
    private final MemoryInfo host = BoundSessions.hostMemory();
    private final Allocator allocator;
    private final Session gather;
    private final RunOptions run = new RunOptions();
    private final AtomicInteger live = new AtomicInteger();

    private DeviceBlocks(Session owner, MemoryInfo device, Session gather) {
        this.device = device;
        this.gather = gather;
        this.allocator = new Allocator(owner, device.asOrtMemoryInfo());
    }

    /** Buffers from {@code owner}'s allocator on {@code options}' device ({@code owner} must outlive this). */
    public static DeviceBlocks open(Session owner, RuntimeOptions options) throws IOException {
        Session gather = openRowGather(options);
        try {
            return new DeviceBlocks(owner, BoundSessions.deviceMemory(options), gather);
        } catch (RuntimeException e) {
            gather.close();
            throw e;
        }
    }

    /** y = Gather(x, rows, axis 0). */
    private static Session openRowGather(RuntimeOptions options) throws IOException {
        GraphBuilder g = new GraphBuilder("row_gather");
        String x = g.input("x", DataType.FLOAT, "images", "positions", "width");
        String rows = g.input("rows", DataType.INT64, "rows");
        g.output(g.gather(x, rows, 0), "y", DataType.FLOAT, "rows", "positions", "width");
        return GraphSessions.open(g, options);
    }

    /** The execution provider's memory (CPU memory on CPU). */
    public MemoryInfo device() {
        return device;
    }

    /** Host memory: what Java reads and writes. */
    public MemoryInfo host() {
        return host;
    }

    /** A buffer of {@code bytes} in the device's memory; {@link #free} it or hand it to {@link #rows}. */
    public Pointer allocate(long bytes) {
        Pointer p = allocator.Alloc(bytes);
        if (p == null || p.isNull()) {
            throw new IllegalStateException("the device allocator returned no memory for " + bytes + " bytes");
        }
        return p;
    }

    /** Returns a buffer of {@link #allocate} (nothing for null). */
    public void free(Pointer p) {
        if (p != null) {
            allocator.Free(p);
        }
    }

    /** {@code block} (from {@link #allocate}) as rows, counted live until its last reference is released. */
    public DeviceRows rows(Pointer block, int rows, int positions, int width) {
        DeviceRows out = new DeviceRows(block, rows, positions, width, () -> {
            allocator.Free(block);
            live.decrementAndGet();
        });
        live.incrementAndGet();
        return out;
    }

    /**
     * Row i of {@code to} ({@code toMemory}: the device's or the host's) becomes row {@code rows[i]} of
     * {@code from} (the device's, {@code fromRows} rows), each row {@code positions x width} floats.
     *
     * @return bytes host to device (the row indices)
     */
    public long gather(Pointer from, long fromRows, long[] rows, MemoryInfo toMemory, Pointer to, int positions,
                       int width) {
        long perRow = (long) positions * width * Float.BYTES;
        try (LongPointer rowData = new LongPointer(rows);
             Value index = BoundSessions.tensor(host, rowData, 0, (long) rows.length * Long.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, rows.length);
             Value x = BoundSessions.tensor(device, from, 0, fromRows * perRow, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                     fromRows, positions, width);
             Value y = BoundSessions.tensor(toMemory, to, 0, rows.length * perRow,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, rows.length, positions, width);
             IoBinding b = new IoBinding(gather)) {
            b.BindInput("x", x);
            b.BindInput("rows", index);
            b.BindOutput("y", y);
            gather.Run(run, b);
        }
        return (long) rows.length * Long.BYTES;
    }

    /**
     * Rows {@code rowOf} of {@code block} read into host memory, flat [rows, positions, width]: the row indices go
     * in ({@code rowOf.length * 8} bytes), the floats come back ({@code 4} bytes each).
     */
    public float[] read(DeviceRows block, int[] rowOf) {
        long[] rows = new long[rowOf.length];
        for (int i = 0; i < rowOf.length; i++) {
            rows[i] = rowOf[i];
        }
        long floats = (long) rows.length * block.positions() * block.width();
        try (FloatPointer result = new FloatPointer(floats)) {
            gather(block.base(), block.rows(), rows, host, result, block.positions(), block.width());
            float[] out = new float[(int) floats];
            result.get(out);
            return out;
        }
    }

    /** Blocks handed out by {@link #rows} and not yet released. */
    public int live() {
        return live.get();
    }

    @Override
    public void close() {
        try {
            allocator.close();
        } finally {
            gather.close();
            run.close();
            host.close();
            device.close();
        }
    }
}
