package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds one ONNX graph in code: inputs, outputs, lazily-materialised weights and nodes, with fresh tensor names.
 * Every op method returns the name of the tensor it produces, so graphs read like the model's forward pass.
 * Written to disk by {@link OnnxModelWriter}. Default domain opset {@value #OPSET}; com.microsoft contrib ops
 * through {@link #msOp}.
 */
public final class GraphBuilder {
    public static final int OPSET = 18;
    public static final String MS_DOMAIN = "com.microsoft";

    private final String name;
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final List<NodeProto> nodes = new ArrayList<>();
    private final Map<String, Weight> weights = new LinkedHashMap<>();
    private final List<TensorProto> smallConstants = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> constantCache = new LinkedHashMap<>();
    private boolean usesMsDomain;
    private int counter;

    public GraphBuilder(String name) {
        this.name = name;
    }

    // ---------------------------------------------------------------- declarations

    /** Declares a graph input; dims are Long/Integer (fixed) or String (symbolic, e.g. "batch"). */
    public String input(String inputName, TensorProto.DataType type, Object... dims) {
        claim(inputName);
        inputs.add(valueInfo(inputName, type, dims));
        return inputName;
    }

    /** Declares {@code tensor} as a graph output named {@code outputName} (an Identity node renames it). */
    public String output(String tensor, String outputName, TensorProto.DataType type, Object... dims) {
        if (!tensor.equals(outputName)) {
            claim(outputName);
            nodes.add(NodeProto.newBuilder().setOpType("Identity").addInput(tensor).addOutput(outputName)
                    .setName("out_" + outputName).build());
        }
        outputs.add(valueInfo(outputName, type, dims));
        return outputName;
    }

    /** A float initializer; its values are produced only when the model is written. */
    public String weight(String weightName, Weight w) {
        claim(weightName);
        weights.put(weightName, w);
        return weightName;
    }

    /** A small int64 constant (shapes, axes, indices); identical constants are shared. */
    public String constLongs(long... values) {
        return constLongs(new long[] {values.length}, values);
    }

    public String constLongs(long[] dims, long[] values) {
        String key = "i64" + java.util.Arrays.toString(dims) + java.util.Arrays.toString(values);
        return constantCache.computeIfAbsent(key, k -> {
            String n = fresh("const_i64");
            TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.INT64.getNumber());
            for (long d : dims) {
                t.addDims(d);
            }
            for (long v : values) {
                t.addInt64Data(v);
            }
            smallConstants.add(t.build());
            return n;
        });
    }

    /** A scalar int64 constant (rank 0). */
    public String scalarLong(long value) {
        return constLongs(new long[0], new long[] {value});
    }

    /** A scalar float constant (rank 0). */
    public String scalar(float value) {
        return constFloats(new long[0], new float[] {value});
    }

    public String constFloats(long[] dims, float[] values) {
        String key = "f32" + java.util.Arrays.toString(dims) + java.util.Arrays.toString(values);
        return constantCache.computeIfAbsent(key, k -> {
            String n = fresh("const_f32");
            TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.FLOAT.getNumber());
            for (long d : dims) {
                t.addDims(d);
            }
            ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                bb.putFloat(v);
            }
            t.setRawData(ByteString.copyFrom(bb.array()));
            smallConstants.add(t.build());
            return n;
        });
    }

    // ---------------------------------------------------------------- generic nodes

    /** A single-output node of the default domain. */
    public String op(String opType, String... in) {
        return op(opType, Map.of(), in);
    }

    public String op(String opType, Map<String, Object> attrs, String... in) {
        return node("", opType, 1, attrs, in)[0];
    }

    /** A node with several outputs; an empty string as input means "omitted optional input". */
    public String[] opN(String opType, int outputCount, Map<String, Object> attrs, String... in) {
        return node("", opType, outputCount, attrs, in);
    }

    /** A com.microsoft contrib node (Attention, RotaryEmbedding, SkipSimplifiedLayerNormalization, ...). */
    public String[] msOp(String opType, int outputCount, Map<String, Object> attrs, String... in) {
        usesMsDomain = true;
        return node(MS_DOMAIN, opType, outputCount, attrs, in);
    }

    /**
     * A com.microsoft contrib node whose outputs get the given names where not null (fresh names elsewhere): graph
     * outputs produced without an Identity copy, e.g. a KV cache that an op writes in place.
     */
    public String[] msOpNamed(String opType, String[] outputNames, Map<String, Object> attrs, String... in) {
        usesMsDomain = true;
        String[] out = node(MS_DOMAIN, opType, outputNames.length, attrs, in);
        NodeProto last = nodes.remove(nodes.size() - 1);
        NodeProto.Builder b = last.toBuilder().clearOutput();
        for (int i = 0; i < out.length; i++) {
            if (outputNames[i] != null) {
                claim(outputNames[i]);
                out[i] = outputNames[i];
            }
            b.addOutput(out[i]);
        }
        nodes.add(b.build());
        return out;
    }

    private String[] node(String domain, String opType, int outputCount, Map<String, Object> attrs, String... in) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(opType).setDomain(domain)
                .setName(fresh(opType.toLowerCase(java.util.Locale.ROOT)));
        for (String i : in) {
            b.addInput(i);
        }
        String[] out = new String[outputCount];
        for (int i = 0; i < outputCount; i++) {
            out[i] = fresh(opType.toLowerCase(java.util.Locale.ROOT) + "_out");
            b.addOutput(out[i]);
        }
        new java.util.TreeMap<>(attrs).forEach((k, v) -> b.addAttribute(attribute(k, v))); // by name: same bytes every run
        nodes.add(b.build());
        return out;
    }

    // ---------------------------------------------------------------- common ops

    public String matMul(String a, String b) {
        return op("MatMul", a, b);
    }

    public String add(String a, String b) {
        return op("Add", a, b);
    }

    public String sub(String a, String b) {
        return op("Sub", a, b);
    }

    public String mul(String a, String b) {
        return op("Mul", a, b);
    }

    public String div(String a, String b) {
        return op("Div", a, b);
    }

    /** x @ w (+ b): w already laid out [in, out]. Pass null for no bias. */
    public String linear(String x, String w, String b) {
        String y = matMul(x, w);
        return b == null ? y : add(y, b);
    }

    public String reshape(String x, long... shape) {
        return op("Reshape", x, constLongs(shape));
    }

    public String reshape(String x, String shape) {
        return op("Reshape", x, shape);
    }

    public String transpose(String x, long... perm) {
        return op("Transpose", Map.of("perm", perm), x);
    }

    public String softmax(String x, long axis) {
        return op("Softmax", Map.of("axis", axis), x);
    }

    public String concat(long axis, String... parts) {
        return op("Concat", Map.of("axis", axis), parts);
    }

    public String gather(String data, String indices, long axis) {
        return op("Gather", Map.of("axis", axis), data, indices);
    }

    public String unsqueeze(String x, long... axes) {
        return op("Unsqueeze", x, constLongs(axes));
    }

    public String squeeze(String x, long... axes) {
        return op("Squeeze", x, constLongs(axes));
    }

    public String slice(String x, long[] starts, long[] ends, long[] axes) {
        return op("Slice", x, constLongs(starts), constLongs(ends), constLongs(axes));
    }

    public String cast(String x, TensorProto.DataType to) {
        return op("Cast", Map.of("to", (long) to.getNumber()), x);
    }

    public String shape(String x) {
        return op("Shape", x);
    }

    /** LayerNormalization over the last axis (opset 17+). */
    public String layerNorm(String x, String scale, String bias, float epsilon) {
        return op("LayerNormalization", Map.of("axis", -1L, "epsilon", epsilon), x, scale, bias);
    }

    /** Exact (erf) GELU: 0.5 x (1 + erf(x / sqrt 2)); ONNX Runtime fuses this pattern. */
    public String gelu(String x) {
        String erf = op("Erf", div(x, scalar((float) Math.sqrt(2.0))));
        return mul(mul(x, add(erf, scalar(1f))), scalar(0.5f));
    }

    public String sigmoid(String x) {
        return op("Sigmoid", x);
    }

    /** SiLU: x * sigmoid(x). */
    public String silu(String x) {
        return mul(x, sigmoid(x));
    }

    /**
     * A single-output default-domain node whose output gets the given name: declare it with
     * {@code output(name, name, ...)} to make a graph output without the copy an Identity node costs (it matters
     * for large outputs produced every step, such as a KV cache).
     */
    public String opAs(String outputName, String opType, Map<String, Object> attrs, String... in) {
        claim(outputName);
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(opType)
                .setName(fresh(opType.toLowerCase(java.util.Locale.ROOT))).addOutput(outputName);
        for (String i : in) {
            b.addInput(i);
        }
        attrs.forEach((k, v) -> b.addAttribute(attribute(k, v)));
        nodes.add(b.build());
        return outputName;
    }

    // ---------------------------------------------------------------- output

    public String name() {
        return name;
    }

    public boolean usesMsDomain() {
        return usesMsDomain;
    }

    public Map<String, Weight> weights() {
        return Collections.unmodifiableMap(weights);
    }

    /** The graph without the weights' data (the writer adds initializers). */
    GraphProto.Builder graphWithoutWeights() {
        GraphProto.Builder g = GraphProto.newBuilder().setName(name);
        g.addAllInput(inputs).addAllOutput(outputs).addAllNode(nodes).addAllInitializer(smallConstants);
        return g;
    }

    // ---------------------------------------------------------------- helpers

    private String fresh(String prefix) {
        String n;
        do {
            n = prefix + "_" + (counter++);
        } while (names.contains(n));
        names.add(n);
        return n;
    }

    private void claim(String n) {
        if (!names.add(n)) {
            throw new IllegalArgumentException("tensor name already used: " + n);
        }
    }

    private static ValueInfoProto valueInfo(String n, TensorProto.DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof String s) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(s));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
            }
        }
        TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape);
        return ValueInfoProto.newBuilder().setName(n).setType(TypeProto.newBuilder().setTensorType(tt)).build();
    }

    private static AttributeProto attribute(String key, Object v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(key);
        if (v instanceof Integer || v instanceof Long) {
            a.setType(AttributeProto.AttributeType.INT).setI(((Number) v).longValue());
        } else if (v instanceof Float || v instanceof Double) {
            a.setType(AttributeProto.AttributeType.FLOAT).setF(((Number) v).floatValue());
        } else if (v instanceof String s) {
            a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
        } else if (v instanceof long[] ls) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (long l : ls) {
                a.addInts(l);
            }
        } else if (v instanceof int[] is) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (int i : is) {
                a.addInts(i);
            }
        } else if (v instanceof float[] fs) {
            a.setType(AttributeProto.AttributeType.FLOATS);
            for (float f : fs) {
                a.addFloats(f);
            }
        } else if (v instanceof TensorProto t) {
            a.setType(AttributeProto.AttributeType.TENSOR).setT(t);
        } else {
            throw new IllegalArgumentException("unsupported attribute " + key + " of " + v.getClass());
        }
        return a.build();
    }
}
