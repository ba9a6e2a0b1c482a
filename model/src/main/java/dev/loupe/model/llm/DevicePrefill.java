package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.BoundSessions;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.GraphSessions;
import java.io.IOException;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * The device-bound decoder's prefill input assembled on the device from prefixes whose image part stayed there
 * ({@link VisualPrefix#onDevice}): row r of the right-padded [rows, seq, hidden] input is its image rows gathered
 * from their {@link DeviceRows} block followed by its host rows (the prompt's embeddings) and the pad embedding —
 * {@code Concat(Gather(image, rows, axis 0), text, axis 1)}, a tiny graph on the same execution provider, so only
 * the prompt rows and 8 bytes per row of gather index cross. Consecutive rows from one block are one run (the
 * rows of one image-side call are; a continuous admission may join rows of several). Thread-safe (sessions are;
 * the host memory of a call is its own).
 */
final class DevicePrefill implements AutoCloseable {
    private final Session withText;
    private final Session imageOnly;
    private final RunOptions run = new RunOptions();

    private DevicePrefill(Session withText, Session imageOnly) {
        this.withText = withText;
        this.imageOnly = imageOnly;
    }

    static DevicePrefill open(RuntimeOptions options) throws IOException {
        Session text = GraphSessions.open(graph(true), options);
        try {
            return new DevicePrefill(text, GraphSessions.open(graph(false), options));
        } catch (IOException | RuntimeException e) {
            text.close();
            throw e;
        }
    }

    /** y = Concat(Gather(image, rows, axis 0), text, axis 1), or the gather alone. */
    private static GraphBuilder graph(boolean text) {
        GraphBuilder g = new GraphBuilder(text ? "prefill_with_text" : "prefill_image_only");
        String image = g.input("image", DataType.FLOAT, "images", "image_positions", "hidden");
        String rows = g.input("rows", DataType.INT64, "rows");
        String gathered = g.gather(image, rows, 0);
        String y = text
                ? g.concat(1, gathered, g.input("text", DataType.FLOAT, "rows", "text_positions", "hidden"))
                : g.op("Identity", gathered);
        g.output(y, "y", DataType.FLOAT, "rows", "positions", "hidden");
        return g;
    }

    /**
     * Writes the right-padded prefill input of {@code prefixes} (all with their image part on the device) into
     * {@code embeds}, [rows, seq, hidden] floats in {@code device} memory.
     *
     * @return bytes host to device (prompt rows, padding and gather indices)
     */
    long assemble(List<VisualPrefix> prefixes, int seq, int hidden, float[] pad, MemoryInfo device, Pointer embeds,
                  MemoryInfo host) {
        long moved = 0;
        int n = prefixes.size();
        for (int from = 0; from < n; ) {
            DeviceRows block = prefixes.get(from).image();
            int to = from + 1;
            while (to < n && prefixes.get(to).image() == block) {
                to++;
            }
            moved += assembleRun(prefixes.subList(from, to), block, from, seq, hidden, pad, device, embeds, host);
            from = to;
        }
        return moved;
    }

    /** One run: {@code rows} (all from {@code block}) into rows [first, first + rows.size()) of {@code embeds}. */
    private long assembleRun(List<VisualPrefix> rows, DeviceRows block, int first, int seq, int hidden, float[] pad,
                             MemoryInfo device, Pointer embeds, MemoryInfo host) {
        int g = rows.size();
        int k = block.positions();
        if (block.width() != hidden) {
            throw new IllegalArgumentException("an image part of width " + block.width() + ", the decoder takes "
                    + hidden);
        }
        int t = seq - k;
        long[] index = new long[g];
        for (int r = 0; r < g; r++) {
            index[r] = rows.get(r).imageRow();
        }
        long rowFloats = (long) seq * hidden;
        long textFloats = (long) g * t * hidden;
        try (LongPointer indexData = new LongPointer(index);
             FloatPointer textData = new FloatPointer(Math.max(1, textFloats));
             Value image = BoundSessions.tensor(device, block.base(), 0, block.floats() * Float.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, block.rows(), k, hidden);
             Value rowTensor = BoundSessions.tensor(host, indexData, 0, (long) g * Long.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, g);
             Value y = BoundSessions.tensor(device, embeds, first * rowFloats * Float.BYTES,
                     g * rowFloats * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, g, seq, hidden)) {
            Session session = t > 0 ? withText : imageOnly;
            try (IoBinding b = new IoBinding(session)) {
                b.BindInput("image", image);
                b.BindInput("rows", rowTensor);
                b.BindOutput("y", y);
                Value text = null;
                try {
                    if (t > 0) {
                        for (int r = 0; r < g; r++) {
                            float[][] after = rows.get(r).after();
                            for (int j = 0; j < t; j++) {
                                float[] e = j < after.length ? after[j] : pad;
                                if (e.length != hidden) {
                                    throw new IllegalArgumentException("a prefix row must hold " + hidden
                                            + " floats, got " + e.length);
                                }
                                textData.position(((long) r * t + j) * hidden).put(e);
                            }
                        }
                        textData.position(0);
                        text = BoundSessions.tensor(host, textData, 0, textFloats * Float.BYTES,
                                ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, g, t, hidden);
                        b.BindInput("text", text);
                    }
                    session.Run(run, b);
                } finally {
                    if (text != null) {
                        text.close();
                    }
                }
            }
        }
        return (long) g * Long.BYTES + textFloats * Float.BYTES;
    }

    @Override
    public void close() {
        withText.close();
        imageOnly.close();
        run.close();
    }
}
