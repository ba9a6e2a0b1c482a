package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.loupe.model.checkpoint.HalfFloats;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@link GraphBuilder}'s graph as an ONNX model file, streaming every weight through a small buffer so that
 * the heap needed is a few MB whatever the model size (a weight is read in chunks from the memory-mapped checkpoint,
 * see {@link Weight#read}). Weights go inline into the protobuf (whose framing is written by hand, so protobuf never
 * holds the bytes) or, when their total exceeds {@link #EXTERNAL_DATA_THRESHOLD} (protobuf's 2 GB limit) or when
 * asked, into an external data file beside the model ({@code <model>.data}), which ONNX Runtime maps on load.
 *
 * <p>With {@link Precision#FP16} each weight {@code w} is stored as a float16 initializer {@code w__fp16} followed by
 * a {@code Cast(to=FLOAT)} node producing {@code w}: the graph's ops are unchanged and compute in float32 (CPU ONNX
 * Runtime has few float16 kernels), ONNX Runtime folds the casts into float32 initializers when the session is
 * created, so the package on disk halves while memory at run time and the arithmetic are those of float32 with
 * weights rounded to float16. With {@link Precision#FP16_COMPUTE} the weights are float16 initializers read directly by
 * ops that compute in float16 ({@link Float16Compute}).
 */
public final class OnnxModelWriter {
    /** Above this many weight bytes the weights are written as external data. */
    public static final long EXTERNAL_DATA_THRESHOLD = 1_800_000_000L;
    /** Suffix of the float16 initializer that a Cast turns into the float32 weight. */
    public static final String FP16_SUFFIX = "__fp16";

    /** Largest chunk, in elements, streamed at once (16 MB of float32 plus its encoded bytes). */
    private static final int MAX_CHUNK = 1 << 22;
    private static final int GRAPH_FIELD = 7;       // ModelProto.graph
    private static final int INITIALIZER_FIELD = 5; // GraphProto.initializer
    private static final int RAW_DATA_FIELD = 9;    // TensorProto.raw_data

    private OnnxModelWriter() {}

    public static void write(GraphBuilder graph, Path file) throws IOException {
        write(graph, file, Precision.FP32);
    }

    /** Writes with weights stored at the given precision, inline or external depending on their total size. */
    public static void write(GraphBuilder graph, Path file, Precision precision) throws IOException {
        write(graph, file, precision, null);
    }

    public static void write(GraphBuilder graph, Path file, boolean externalData) throws IOException {
        write(graph, file, Precision.FP32, externalData);
    }

    public static void write(GraphBuilder graph, Path file, Precision precision, boolean externalData)
            throws IOException {
        write(graph, file, precision, (Boolean) externalData);
    }

    /**
     * Writes with the weight MatMuls and embedding tables stored as {@code plan} says (the other weights float32),
     * whatever the plan of a {@link Precision}: for measuring one scheme against another.
     */
    public static void write(GraphBuilder graph, Path file, QuantizationPlan plan) throws IOException {
        GraphProto.Builder g = graph.graphWithoutWeights();
        write(graph, g, WeightQuantizer.apply(g, graph.weights(), plan,
                e -> floats(e.getKey(), e.getValue(), Precision.FP32)), file, null);
    }

    /** externalData null: external when the stored bytes exceed {@link #EXTERNAL_DATA_THRESHOLD}. */
    private static void write(GraphBuilder graph, Path file, Precision precision, Boolean externalData)
            throws IOException {
        GraphProto.Builder g = graph.graphWithoutWeights();
        List<StoredTensor> tensors;
        if (precision.plan() != null) {
            tensors = WeightQuantizer.apply(g, graph.weights(), precision.plan(),
                    e -> floats(e.getKey(), e.getValue(), Precision.FP32));
        } else {
            if (precision == Precision.FP16) {
                addCasts(g, graph.weights().keySet());
            } else if (precision == Precision.FP16_COMPUTE) {
                Float16Compute.apply(g, graph.weights().keySet());
            }
            tensors = new ArrayList<>();
            for (Map.Entry<String, Weight> e : graph.weights().entrySet()) {
                tensors.add(floats(e.getKey(), e.getValue(), precision));
            }
        }
        write(graph, g, tensors, file, externalData);
    }

    private static void write(GraphBuilder graph, GraphProto.Builder g, List<StoredTensor> tensors, Path file,
                              Boolean externalData) throws IOException {
        long total = tensors.stream().mapToLong(StoredTensor::byteCount).sum();
        boolean external = externalData != null ? externalData : total > EXTERNAL_DATA_THRESHOLD;
        if (!external && total > EXTERNAL_DATA_THRESHOLD) {
            throw new IllegalArgumentException("weights of " + graph.name() + " exceed protobuf's 2 GB limit; "
                    + "write them as external data");
        }
        GraphProto rewritten = g.build();
        ModelProto modelFields = model(graph.usesMsDomain() || WeightQuantizer.usesMsDomain(rewritten),
                WeightQuantizer.metadata(rewritten));
        Path dataFile = file.resolveSibling(file.getFileName() + ".data");
        Files.deleteIfExists(dataFile);
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (external) {
            try (FileChannel data = FileChannel.open(dataFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (StoredTensor st : tensors) {
                    // ONNX Runtime wants external tensors aligned for mmap; 64 bytes suffices.
                    long offset = (data.position() + 63) / 64 * 64;
                    data.position(offset);
                    long[] length = {0};
                    st.bytes().writeTo(bb -> {
                        while (bb.hasRemaining()) {
                            length[0] += data.write(bb);
                        }
                    });
                    checkLength(st, length[0]);
                    TensorProto.Builder t = header(st);
                    t.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                    t.addExternalData(entry("location", dataFile.getFileName().toString()));
                    t.addExternalData(entry("offset", Long.toString(offset)));
                    t.addExternalData(entry("length", Long.toString(length[0])));
                    g.addInitializer(t);
                }
            }
            try (OutputStream out = Files.newOutputStream(file)) {
                modelFields.toBuilder().setGraph(g).build().writeTo(out);
            }
        } else {
            writeInline(g.build(), tensors, modelFields, file);
        }
    }

    /**
     * Writes the model with inline weights without building them into protobuf objects: the model's other fields,
     * then the graph field framed by hand (its length computed from the weights' sizes), its non-weight fields,
     * and one initializer per weight whose raw_data bytes are streamed.
     */
    private static void writeInline(GraphProto graphFields, List<StoredTensor> tensors, ModelProto modelFields,
                                    Path file)
            throws IOException {
        List<TensorProto> headers = new ArrayList<>();
        long graphSize = graphFields.getSerializedSize();
        for (StoredTensor st : tensors) {
            TensorProto h = header(st).build();
            headers.add(h);
            long tensorSize = tensorSize(h, st.byteCount());
            graphSize += CodedOutputStream.computeTagSize(INITIALIZER_FIELD)
                    + CodedOutputStream.computeUInt64SizeNoTag(tensorSize) + tensorSize;
        }
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            CodedOutputStream out = CodedOutputStream.newInstance(os, 1 << 16);
            modelFields.writeTo(out);
            out.writeTag(GRAPH_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt64NoTag(graphSize);
            graphFields.writeTo(out);
            int i = 0;
            for (StoredTensor st : tensors) {
                TensorProto h = headers.get(i++);
                out.writeTag(INITIALIZER_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.writeUInt64NoTag(tensorSize(h, st.byteCount()));
                h.writeTo(out);
                out.writeTag(RAW_DATA_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.writeUInt64NoTag(st.byteCount());
                long[] written = {0};
                // not writeRawBytes(ByteBuffer): it writes a heap buffer's whole capacity
                st.bytes().writeTo(bb -> {
                    written[0] += bb.remaining();
                    out.writeRawBytes(bb.array(), bb.arrayOffset() + bb.position(), bb.remaining());
                    bb.position(bb.limit());
                });
                checkLength(st, written[0]);
            }
            out.flush();
        }
    }

    private static void checkLength(StoredTensor st, long written) {
        if (written != st.byteCount()) {
            throw new IllegalStateException("tensor " + st.name() + " produced " + written + " bytes, declared "
                    + st.byteCount());
        }
    }

    private static long tensorSize(TensorProto header, long rawBytes) {
        return header.getSerializedSize() + CodedOutputStream.computeTagSize(RAW_DATA_FIELD)
                + CodedOutputStream.computeUInt64SizeNoTag(rawBytes) + rawBytes;
    }

    /** The model's fields but its graph; {@code metadata} in metadata_props (sorted, so the bytes are stable). */
    private static ModelProto model(boolean msDomain, Map<String, String> metadata) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("loupe")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(GraphBuilder.OPSET));
        if (msDomain) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.MS_DOMAIN).setVersion(1));
        }
        new java.util.TreeMap<>(metadata).forEach((k, v) -> m.addMetadataProps(entry(k, v)));
        return m.build();
    }

    /** Prepends, for every weight, Cast(weight__fp16 → weight) so that the graph's ops still see float32. */
    private static void addCasts(GraphProto.Builder g, Set<String> weightNames) {
        Set<String> used = new HashSet<>();
        g.getInputList().stream().map(ValueInfoProto::getName).forEach(used::add);
        g.getInitializerList().stream().map(TensorProto::getName).forEach(used::add);
        g.getNodeList().forEach(n -> used.addAll(n.getOutputList()));
        List<NodeProto> nodes = new ArrayList<>();
        for (String w : weightNames) {
            if (used.contains(w + FP16_SUFFIX)) {
                throw new IllegalArgumentException("tensor name " + w + FP16_SUFFIX + " is taken");
            }
            nodes.add(NodeProto.newBuilder().setOpType("Cast").setName("cast_" + w).addInput(w + FP16_SUFFIX)
                    .addOutput(w).addAttribute(AttributeProto.newBuilder().setName("to")
                            .setType(AttributeProto.AttributeType.INT)
                            .setI(TensorProto.DataType.FLOAT.getNumber()))
                    .build());
        }
        nodes.addAll(g.getNodeList());
        g.clearNode().addAllNode(nodes);
    }

    /**
     * A weight stored as little-endian float32 or float16 (for fp16 storage named with {@link #FP16_SUFFIX}, for
     * fp16-compute under its own name), streamed in chunks.
     */
    private static StoredTensor floats(String name, Weight w, Precision precision) {
        boolean half = precision == Precision.FP16 || precision == Precision.FP16_COMPUTE;
        int bytesPerValue = half ? 2 : 4;
        return new StoredTensor(precision == Precision.FP16 ? name + FP16_SUFFIX : name,
                half ? TensorProto.DataType.FLOAT16 : TensorProto.DataType.FLOAT, w.dims(),
                w.elementCount() * bytesPerValue, sink -> {
            long n = w.elementCount();
            int chunk = (int) Math.min(n, Math.min(MAX_CHUNK, Math.max(1, w.preferredChunk())));
            float[] values = new float[Math.max(chunk, 1)];
            ByteBuffer bytes = ByteBuffer.allocate(values.length * bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
            try {
                for (long pos = 0; pos < n; pos += chunk) {
                    int len = (int) Math.min(chunk, n - pos);
                    w.read(pos, values, 0, len);
                    bytes.clear();
                    if (!half) {
                        bytes.asFloatBuffer().put(values, 0, len);
                        bytes.limit(len * 4);
                    } else {
                        for (int i = 0; i < len; i++) {
                            bytes.putShort(HalfFloats.floatToHalf(values[i]));
                        }
                        bytes.flip();
                    }
                    sink.accept(bytes);
                }
            } finally {
                w.release();
            }
        });
    }

    private static TensorProto.Builder header(StoredTensor st) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(st.name()).setDataType(st.type().getNumber());
        for (long d : st.dims()) {
            t.addDims(d);
        }
        return t;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
