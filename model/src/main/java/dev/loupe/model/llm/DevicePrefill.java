package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.BoundSessions;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.GraphSessions;
import java.io.IOException;
import java.util.ArrayList;
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
 * ({@link VisualPrefix#onDevice}): row r of the right-padded [rows, seq, hidden] input is its host rows before the
 * image (LLaVA's prompt up to {@code <image>}; none for InstructBLIP / BLIP-2), its image rows gathered from their
 * {@link DeviceRows} block, then its host rows after (the prompt's embeddings) and the pad embedding —
 * {@code Concat(before, Gather(image, rows, axis 0), after, axis 1)}, a tiny graph on the same execution provider,
 * so only the prompt rows and 8 bytes per row of gather index cross. Consecutive rows from one block with as many
 * rows before their image are one run (the rows of one image-side call with one prompt template are; a continuous
 * admission may join rows of several). Thread-safe (sessions are; the host memory of a call is its own).
 */
final class DevicePrefill implements AutoCloseable {
    /** By whether host rows come before the image (2) and after it (1): the assembling graph. */
    private final Session[] graphs;
    private final RunOptions run = new RunOptions();

    private DevicePrefill(Session[] graphs) {
        this.graphs = graphs;
    }

    static DevicePrefill open(RuntimeOptions options) throws IOException {
        Session[] graphs = new Session[4];
        try {
            for (int i = 0; i < graphs.length; i++) {
                graphs[i] = GraphSessions.open(graph((i & 2) != 0, (i & 1) != 0), options);
            }
            return new DevicePrefill(graphs);
        } catch (IOException | RuntimeException e) {
            closeAll(graphs);
            throw e;
        }
    }

    /** y = Concat(before, Gather(image, rows, axis 0), after, axis 1), with the parts asked for. */
    private static GraphBuilder graph(boolean before, boolean after) {
        GraphBuilder g = new GraphBuilder("prefill" + (before ? "_before" : "") + "_image" + (after ? "_after" : ""));
        String image = g.input("image", DataType.FLOAT, "images", "image_positions", "hidden");
        String rows = g.input("rows", DataType.INT64, "rows");
        List<String> parts = new ArrayList<>();
        if (before) {
            parts.add(g.input("before", DataType.FLOAT, "rows", "before_positions", "hidden"));
        }
        parts.add(g.gather(image, rows, 0));
        if (after) {
            parts.add(g.input("text", DataType.FLOAT, "rows", "text_positions", "hidden"));
        }
        String y = parts.size() > 1 ? g.concat(1, parts.toArray(String[]::new)) : g.op("Identity", parts.get(0));
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
            int before = prefixes.get(from).before().length;
            int to = from + 1;
            while (to < n && prefixes.get(to).image() == block && prefixes.get(to).before().length == before) {
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
        int b = rows.get(0).before().length;
        int t = seq - b - k;
        long[] index = new long[g];
        for (int r = 0; r < g; r++) {
            index[r] = rows.get(r).imageRow();
        }
        long rowFloats = (long) seq * hidden;
        long beforeFloats = (long) g * b * hidden;
        long textFloats = (long) g * t * hidden;
        Session session = graphs[(b > 0 ? 2 : 0) + (t > 0 ? 1 : 0)];
        try (LongPointer indexData = new LongPointer(index);
             FloatPointer beforeData = new FloatPointer(Math.max(1, beforeFloats));
             FloatPointer textData = new FloatPointer(Math.max(1, textFloats));
             Value image = BoundSessions.tensor(device, block.base(), 0, block.floats() * Float.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, block.rows(), k, hidden);
             Value rowTensor = BoundSessions.tensor(host, indexData, 0, (long) g * Long.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, g);
             Value y = BoundSessions.tensor(device, embeds, first * rowFloats * Float.BYTES,
                     g * rowFloats * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, g, seq, hidden);
             IoBinding binding = new IoBinding(session)) {
            binding.BindInput("image", image);
            binding.BindInput("rows", rowTensor);
            binding.BindOutput("y", y);
            Value beforeTensor = null;
            Value text = null;
            try {
                if (b > 0) {
                    for (int r = 0; r < g; r++) {
                        fill(beforeData, r, rows.get(r).before(), b, hidden, pad);
                    }
                    beforeTensor = BoundSessions.tensor(host, beforeData, 0, beforeFloats * Float.BYTES,
                            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, g, b, hidden);
                    binding.BindInput("before", beforeTensor);
                }
                if (t > 0) {
                    for (int r = 0; r < g; r++) {
                        fill(textData, r, rows.get(r).after(), t, hidden, pad);
                    }
                    text = BoundSessions.tensor(host, textData, 0, textFloats * Float.BYTES,
                            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, g, t, hidden);
                    binding.BindInput("text", text);
                }
                session.Run(run, binding);
            } finally {
                if (beforeTensor != null) {
                    beforeTensor.close();
                }
                if (text != null) {
                    text.close();
                }
            }
        }
        return (long) g * Long.BYTES + (beforeFloats + textFloats) * Float.BYTES;
    }

    /** Row r of {@code data} ([rows, positions, hidden]): {@code embeddings}, then {@code pad} to {@code positions}. */
    private static void fill(FloatPointer data, int r, float[][] embeddings, int positions, int hidden, float[] pad) {
        for (int j = 0; j < positions; j++) {
            float[] e = j < embeddings.length ? embeddings[j] : pad;
            if (e.length != hidden) {
                throw new IllegalArgumentException("a prefix row must hold " + hidden + " floats, got " + e.length);
            }
            data.position(((long) r * positions + j) * hidden).put(e);
        }
        data.position(0);
    }

    private static void closeAll(Session[] graphs) {
        for (Session s : graphs) {
            if (s != null) {
                s.close();
            }
        }
    }

    @Override
    public void close() {
        closeAll(graphs);
        run.close();
    }
}
