package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes a {@link GraphBuilder}'s graph as an ONNX model file. Weights are materialised one at a time; when their
 * total exceeds {@link #EXTERNAL_DATA_THRESHOLD} (protobuf's 2 GB limit) or when asked, they go to an external
 * data file beside the model ({@code <model>.data}), which ONNX Runtime maps on load.
 */
public final class OnnxModelWriter {
    /** Above this many weight bytes the weights are written as external data. */
    public static final long EXTERNAL_DATA_THRESHOLD = 1_800_000_000L;

    private OnnxModelWriter() {}

    public static void write(GraphBuilder graph, Path file) throws IOException {
        long total = 0;
        for (Weight w : graph.weights().values()) {
            long n = 1;
            for (long d : w.dims()) {
                n *= d;
            }
            total += 4 * n;
        }
        write(graph, file, total > EXTERNAL_DATA_THRESHOLD);
    }

    public static void write(GraphBuilder graph, Path file, boolean externalData) throws IOException {
        var g = graph.graphWithoutWeights();
        Path dataFile = file.resolveSibling(file.getFileName() + ".data");
        Files.deleteIfExists(dataFile);
        if (externalData) {
            try (FileChannel data = FileChannel.open(dataFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (Map.Entry<String, Weight> e : graph.weights().entrySet()) {
                    ByteBuffer bytes = toBytes(e.getValue().values());
                    // ONNX Runtime wants external tensors aligned for mmap; 64 bytes suffices.
                    long offset = (data.position() + 63) / 64 * 64;
                    data.position(offset);
                    long length = bytes.remaining();
                    while (bytes.hasRemaining()) {
                        data.write(bytes);
                    }
                    TensorProto.Builder t = header(e.getKey(), e.getValue());
                    t.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                    t.addExternalData(entry("location", dataFile.getFileName().toString()));
                    t.addExternalData(entry("offset", Long.toString(offset)));
                    t.addExternalData(entry("length", Long.toString(length)));
                    g.addInitializer(t);
                }
            }
        } else {
            for (Map.Entry<String, Weight> e : graph.weights().entrySet()) {
                ByteBuffer bytes = toBytes(e.getValue().values());
                g.addInitializer(header(e.getKey(), e.getValue()).setRawData(ByteString.copyFrom(bytes)));
            }
        }
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("loupe")
                .setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(GraphBuilder.OPSET));
        if (graph.usesMsDomain()) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.MS_DOMAIN).setVersion(1));
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            m.build().writeTo(out);
        }
    }

    private static TensorProto.Builder header(String name, Weight w) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name)
                .setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (long d : w.dims()) {
            t.addDims(d);
        }
        return t;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ByteBuffer toBytes(float[] values) {
        ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(values);
        return bb;
    }
}
