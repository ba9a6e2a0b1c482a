package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Rewrites a graph for a quantized package as it is written: every {@code MatMul(x, W)} whose W is a 2-D weight
 * used nowhere else becomes the op of its {@link MatMulScheme} over quantized initializers (same output name, same
 * place in the node order), and, when the plan says so, every {@code Gather(table, ids)} on such a weight reads an
 * int8 table and multiplies the gathered rows by their block scales. The other weights stay float32. Graph
 * builders stay unaware of precision; the quantized tensors are streamed from the float weights when written.
 */
final class WeightQuantizer {
    static final String CODES_SUFFIX = "__q";
    static final String SCALES_SUFFIX = "__scales";
    /** Gathered tables with fewer rows (position embeddings, small fixture vocabularies) stay float32. */
    static final long MIN_EMBEDDING_ROWS = 1000;

    private final GraphProto.Builder graph;
    private final Map<String, Weight> weights;
    private final QuantizationPlan plan;
    private final QuantizationPlan.GraphRole role;
    private final Set<String> taken = new HashSet<>();
    private final List<StoredTensor> stored = new ArrayList<>();
    private int counter;
    /** Shared constants of the row-quantized MatMuls (axes, tiny, 127, 128, uint8 zero point), once per graph. */
    private String[] rowConstants;

    private WeightQuantizer(GraphProto.Builder graph, Map<String, Weight> weights, QuantizationPlan plan) {
        this.graph = graph;
        this.weights = weights;
        this.plan = plan;
        this.role = QuantizationPlan.GraphRole.of(graph.build());
    }

    /**
     * Rewrites {@code graph}'s nodes in place and returns the initializers to store for {@code weights}: quantized
     * ones where a node was rewritten, float32 ones (from {@code floats}) for the rest.
     */
    static List<StoredTensor> apply(GraphProto.Builder graph, Map<String, Weight> weights, QuantizationPlan plan,
                                    Function<Map.Entry<String, Weight>, StoredTensor> floats) {
        WeightQuantizer q = new WeightQuantizer(graph, weights, plan);
        Set<String> quantized = q.rewrite();
        List<StoredTensor> out = new ArrayList<>(q.stored);
        for (Map.Entry<String, Weight> e : weights.entrySet()) {
            if (!quantized.contains(e.getKey())) {
                out.add(floats.apply(e));
            }
        }
        return out;
    }

    /**
     * The model metadata a rewritten graph needs its runners to honour: {@link RowsPerRun#KEY} = 1 where an
     * activation range spans the whole run ({@link MatMulScheme#DYNAMIC_INT8}), so that a batch row's result is its
     * own only when each run holds one row. Empty otherwise (float graphs are written as before).
     */
    static Map<String, String> metadata(GraphProto graph) {
        boolean wholeRunRanges = graph.getNodeList().stream().anyMatch(
                n -> n.getOpType().equals("DynamicQuantizeMatMul") && GraphBuilder.MS_DOMAIN.equals(n.getDomain()));
        return wholeRunRanges ? Map.of(RowsPerRun.KEY, "1") : Map.of();
    }

    /** Whether a node of this type in the com.microsoft domain was emitted. */
    static boolean usesMsDomain(GraphProto graph) {
        return graph.getNodeList().stream().anyMatch(n -> GraphBuilder.MS_DOMAIN.equals(n.getDomain()));
    }

    private Set<String> rewrite() {
        Map<String, Integer> uses = new HashMap<>();
        for (NodeProto n : graph.getNodeList()) {
            n.getInputList().forEach(i -> uses.merge(i, 1, Integer::sum));
            taken.addAll(n.getOutputList());
            taken.add(n.getName());
        }
        graph.getOutputList().stream().map(ValueInfoProto::getName).forEach(o -> uses.merge(o, 1, Integer::sum));
        graph.getInputList().stream().map(ValueInfoProto::getName).forEach(taken::add);
        graph.getInitializerList().stream().map(TensorProto::getName).forEach(taken::add);
        taken.addAll(weights.keySet());

        Set<String> quantized = new HashSet<>();
        List<NodeProto> nodes = new ArrayList<>();
        for (NodeProto n : graph.getNodeList()) {
            String w = n.getInputCount() >= 2 ? n.getInput(n.getOpType().equals("MatMul") ? 1 : 0) : null;
            Weight weight = w == null ? null : weights.get(w);
            boolean soleUse = weight != null && weight.dims().length == 2 && uses.getOrDefault(w, 0) == 1
                    && n.getDomain().isEmpty();
            if (soleUse && n.getOpType().equals("MatMul")) {
                long[] d = weight.dims();
                MatMulScheme scheme = plan.matMul(role, d[0], d[1]);
                if (scheme != MatMulScheme.FLOAT) {
                    nodes.addAll(matMul(n, w, weight, scheme));
                    quantized.add(w);
                    continue;
                }
            } else if (soleUse && n.getOpType().equals("Gather") && gatherAxis(n) == 0 && plan.quantizeEmbeddings()
                    && weight.dims()[0] >= MIN_EMBEDDING_ROWS) {
                nodes.addAll(gather(n, w, weight));
                quantized.add(w);
                continue;
            }
            nodes.add(n);
        }
        graph.clearNode().addAllNode(nodes);
        return quantized;
    }

    private List<NodeProto> matMul(NodeProto n, String w, Weight weight, MatMulScheme scheme) {
        long k = weight.dims()[0];
        long nOut = weight.dims()[1];
        String codes = claim(w + CODES_SUFFIX);
        String scales = claim(w + SCALES_SUFFIX);
        String x = n.getInput(0);
        String y = n.getOutput(0);
        if (scheme == MatMulScheme.ROW_INT8) {
            ColumnQuantizer columns = new ColumnQuantizer(weight);
            stored.add(columns.codes(codes));
            stored.add(columns.scales(scales));
            return rowQuantizedMatMul(n, x, codes, scales, y);
        }
        if (scheme == MatMulScheme.DYNAMIC_INT8) {
            ColumnQuantizer columns = new ColumnQuantizer(weight);
            stored.add(columns.codes(codes));
            stored.add(columns.scales(scales));
            return List.of(NodeProto.newBuilder().setOpType("DynamicQuantizeMatMul").setDomain(GraphBuilder.MS_DOMAIN)
                    .setName(n.getName()).addInput(x).addInput(codes).addInput(scales).addOutput(y).build());
        }
        // MatMulNBits wants W^T [N, K] blocked along K: the transpose of a transposed Linear weight is the stored one.
        BlockQuantizer blocks = new BlockQuantizer(weight.transposed(), scheme.bits(), MatMulScheme.BLOCK_SIZE);
        stored.add(blocks.packedCodes(codes));
        stored.add(blocks.scales(scales));
        return List.of(NodeProto.newBuilder().setOpType("MatMulNBits").setDomain(GraphBuilder.MS_DOMAIN)
                .setName(n.getName()).addInput(x).addInput(codes).addInput(scales).addOutput(y)
                .addAttribute(intAttr("K", k)).addAttribute(intAttr("N", nOut))
                .addAttribute(intAttr("bits", scheme.bits()))
                .addAttribute(intAttr("block_size", MatMulScheme.BLOCK_SIZE))
                .addAttribute(intAttr("accuracy_level", MatMulScheme.ACCURACY_LEVEL)).build());
    }

    /**
     * x quantized per row in the graph: m = max(ReduceMax(x), -ReduceMin(x), tiny) per row (two reads of x, nothing
     * written at its size), row scale m / 127, then {@code QuantizeLinear(x / scale, 1, 128)} (round half to even,
     * saturated to uint8, one vectorized pass), and MatMulIntegerToFloat(codes, W int8, row scales, column scales,
     * zero point 128). The codes are those of round(x / scale) + 128, the graph's earlier Abs, Round, Add and Cast
     * form, in four passes over x instead of six, two of them reads only.
     */
    private List<NodeProto> rowQuantizedMatMul(NodeProto n, String x, String codes, String scales, String y) {
        String p = n.getName();
        if (rowConstants == null) {
            rowConstants = new String[] {claim("row_quant__axes"), claim("row_quant__tiny"), claim("row_quant__qmax"),
                    claim("row_quant__one"), claim("row_quant__zero_point")};
            stored.add(scalarTensor(rowConstants[0], DataType.INT64, new long[] {1}, -1L));
            stored.add(scalarTensor(rowConstants[1], DataType.FLOAT, new long[0], 1e-30f));
            stored.add(scalarTensor(rowConstants[2], DataType.FLOAT, new long[0], 127f));
            stored.add(scalarTensor(rowConstants[3], DataType.FLOAT, new long[0], 1f));
            stored.add(scalarTensor(rowConstants[4], DataType.UINT8, new long[0], (byte) 128));
        }
        String high = fresh(p + "_row_max");
        String low = fresh(p + "_row_min");
        String negLow = fresh(p + "_row_min_neg");
        String absMax = fresh(p + "_absmax");
        String rowScale = fresh(p + "_row_scale");
        String scaled = fresh(p + "_scaled");
        String quantized = fresh(p + "_quantized");
        return List.of(
                reduce(p + "_reduce_max", "ReduceMax", x, high),
                reduce(p + "_reduce_min", "ReduceMin", x, low),
                node(p + "_neg", "Neg", List.of(low), negLow),
                node(p + "_max", "Max", List.of(high, negLow, rowConstants[1]), absMax),
                node(p + "_scale", "Div", List.of(absMax, rowConstants[2]), rowScale),
                node(p + "_div", "Div", List.of(x, rowScale), scaled),
                node(p + "_quantize", "QuantizeLinear", List.of(scaled, rowConstants[3], rowConstants[4]), quantized),
                NodeProto.newBuilder().setOpType("MatMulIntegerToFloat").setDomain(GraphBuilder.MS_DOMAIN)
                        .setName(n.getName()).addInput(quantized).addInput(codes).addInput(rowScale).addInput(scales)
                        .addInput(rowConstants[4]).addOutput(y).build());
    }

    private NodeProto reduce(String name, String op, String x, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(fresh(name)).addInput(x).addInput(rowConstants[0])
                .addOutput(out).addAttribute(intAttr("keepdims", 1)).build();
    }

    private static StoredTensor scalarTensor(String name, DataType type, long[] dims, Object value) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        if (value instanceof Long l) {
            b.putLong(l);
        } else if (value instanceof Float f) {
            b.putFloat(f);
        } else {
            b.put((Byte) value);
        }
        b.flip();
        return new StoredTensor(name, type, dims, b.remaining(), sink -> sink.accept(b.duplicate()));
    }

    /**
     * rows = Cast(Gather(int8 table, ids)) * Gather(scales [rows, 1], ids): one symmetric scale per table row, so the
     * gathered scales broadcast over the row whatever the rank of ids.
     */
    private List<NodeProto> gather(NodeProto n, String w, Weight weight) {
        BlockQuantizer rows = new BlockQuantizer(weight, 8, Math.toIntExact(weight.dims()[1]));
        String codes = claim(w + CODES_SUFFIX);
        String scales = claim(w + SCALES_SUFFIX);
        stored.add(rows.signedCodes(codes));
        stored.add(rows.scales(scales));
        String ids = n.getInput(1);
        String gathered = fresh(w + "__rows_q");
        String asFloat = fresh(w + "__rows_f");
        String rowScales = fresh(w + "__row_scales");
        String prefix = n.getName();
        return List.of(
                node(prefix + "_codes", "Gather", List.of(codes, ids), gathered),
                NodeProto.newBuilder().setOpType("Cast").setName(fresh(prefix + "_cast")).addInput(gathered)
                        .addOutput(asFloat).addAttribute(intAttr("to", DataType.FLOAT.getNumber())).build(),
                node(prefix + "_scales", "Gather", List.of(scales, ids), rowScales),
                node(prefix + "_mul", "Mul", List.of(asFloat, rowScales), n.getOutput(0)));
    }

    private static long gatherAxis(NodeProto n) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals("axis")).mapToLong(AttributeProto::getI)
                .findFirst().orElse(0);
    }

    private NodeProto node(String name, String op, List<String> inputs, String output) {
        return NodeProto.newBuilder().setOpType(op).setName(fresh(name)).addAllInput(inputs).addOutput(output).build();
    }

    private String claim(String name) {
        if (!taken.add(name)) {
            throw new IllegalArgumentException("tensor name " + name + " is taken");
        }
        return name;
    }

    private String fresh(String prefix) {
        String n;
        do {
            n = prefix + "_" + (counter++);
        } while (taken.contains(n));
        taken.add(n);
        return n;
    }

    private static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    /** int8 codes of W [K, N] with one symmetric scale per column (DynamicQuantizeMatMul's per-column B). */
    private static final class ColumnQuantizer {
        private final Weight w;
        private final long k;
        private final long n;
        private float[] scales;

        ColumnQuantizer(Weight w) {
            this.w = w;
            this.k = w.dims()[0];
            this.n = w.dims()[1];
        }

        private float[] scales() throws java.io.IOException {
            if (scales == null) {
                float[] max = new float[Math.toIntExact(n)];
                forEachChunk((rows, values) -> {
                    for (int i = 0; i < rows * max.length; i++) {
                        int c = i % max.length;
                        max[c] = Math.max(max[c], Math.abs(values[i]));
                    }
                });
                for (int c = 0; c < max.length; c++) {
                    max[c] /= 127f;
                }
                scales = max;
            }
            return scales;
        }

        private interface ChunkConsumer {
            void accept(int rows, float[] values) throws java.io.IOException;
        }

        /** Reads W [K, N] a chunk of whole rows at a time (tiles of a transposed source stay efficient). */
        private void forEachChunk(ChunkConsumer consumer) throws java.io.IOException {
            int rowsPerChunk = (int) Math.max(1, Math.min(k, Math.max(w.preferredChunk(), 1 << 16) / n));
            float[] values = new float[Math.toIntExact(rowsPerChunk * n)];
            try {
                for (long r = 0; r < k; r += rowsPerChunk) {
                    int rows = (int) Math.min(rowsPerChunk, k - r);
                    w.read(r * n, values, 0, Math.toIntExact(rows * n));
                    consumer.accept(rows, values);
                }
            } finally {
                w.release();
            }
        }

        StoredTensor scales(String name) {
            return new StoredTensor(name, DataType.FLOAT, new long[] {n}, n * 4, sink -> {
                ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n) * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float s : scales()) {
                    b.putFloat(s);
                }
                b.flip();
                sink.accept(b);
            });
        }

        StoredTensor codes(String name) {
            return new StoredTensor(name, DataType.INT8, new long[] {k, n}, k * n, sink -> {
                float[] s = scales();
                forEachChunk((rows, values) -> {
                    ByteBuffer b = ByteBuffer.allocate(rows * s.length);
                    for (int i = 0; i < rows * s.length; i++) {
                        float scale = s[i % s.length];
                        b.put((byte) (scale == 0f ? 0 : Math.max(-127, Math.min(127, Math.round(values[i] / scale)))));
                    }
                    b.flip();
                    sink.accept(b);
                });
            });
        }
    }
}
