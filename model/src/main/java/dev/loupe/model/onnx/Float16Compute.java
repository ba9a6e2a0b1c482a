package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.loupe.model.checkpoint.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a float32 graph to compute in float16 ({@link Precision#FP16_COMPUTE}, for GPU execution providers): the
 * weights become float16 initializers read directly by the ops, activations flow in float16, and float32 is kept
 * where float16 would overflow or lose the distribution:
 * <ul>
 *   <li>{@link #HALF} ops run in float16. Their kernels accumulate in float32 themselves: ONNX Runtime's CUDA MatMul
 *       and Conv use float32 compute in cuBLAS/cuDNN, {@code LayerNormalization} has {@code stash_type} float32 (the
 *       default, kept), the skip/simplified norms accumulate their mean and variance in float, and the fused attention
 *       ops compute softmax in float32;</li>
 *   <li>{@link #SINGLE} ops run in float32: a plain-op RMSNorm (x², its mean, the square root; x² overflows float16
 *       from |x| = 256) and the distribution at the end of a decoder (LogSoftmax, TopK). Elementwise ops that read
 *       a tensor computed in float32 stay in float32 ({@link #FOLLOW}), so a whole plain RMSNorm is one float32 island
 *       and the next float16 op casts its result down;</li>
 *   <li>the host boundary: float graph inputs stay float32 (cast to float16 at their first float16 use), float graph
 *       outputs are cast back to float32 (logits, image features, embeddings), except the KV cache (inputs and
 *       outputs with the {@value QuantizationPlan.GraphRole#PAST_DIM} dimension), which is float16 on both sides so
 *       that a decoder's past and present stay one buffer.</li>
 * </ul>
 * Graph constants that do not fit float16 (a float-min attention mask in the plain decoder graphs) and ops without a
 * rule here are refused with an error naming them: fp16-compute is for the graphs whose ops are listed here (the fused
 * encoders and the fused LLaMA decoder).
 */
final class Float16Compute {
    /** Ops that compute in float16 (all float inputs cast to float16). */
    static final Set<String> HALF = Set.of("MatMul", "Gemm", "Conv", "GroupQueryAttention", "MultiHeadAttention",
            "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "LayerNormalization",
            "SimplifiedLayerNormalization");
    /** Ops that compute in float32 (float inputs cast up). */
    static final Set<String> SINGLE = Set.of("Pow", "ReduceMean", "Sqrt", "Softmax", "LogSoftmax", "TopK");
    /** Elementwise and data-movement ops: float32 if a float input was computed in float32, else float16. */
    static final Set<String> FOLLOW = Set.of("Add", "Sub", "Mul", "Div", "Neg", "Sigmoid", "Erf", "Tanh", "Relu",
            "Identity", "Reshape", "Transpose", "Concat", "Split", "Gather", "GatherND", "GatherElements", "Slice",
            "Squeeze", "Unsqueeze", "Expand", "Tile", "Where", "Range", "Cos", "Sin");
    /** Ops that read their inputs' shapes or compare them; their outputs are not float. */
    static final Map<String, DataType> NOT_FLOAT = Map.of("Shape", DataType.INT64, "Size", DataType.INT64,
            "ArgMax", DataType.INT64, "Equal", DataType.BOOL, "Less", DataType.BOOL, "LessOrEqual", DataType.BOOL,
            "Greater", DataType.BOOL, "And", DataType.BOOL, "Or", DataType.BOOL, "Not", DataType.BOOL);

    /** Float16's largest finite value. */
    private static final float HALF_MAX = 65504f;

    /** Where a tensor's values live. */
    private enum State {
        /** Not a float tensor. */
        OTHER,
        /** float16. */
        HALF,
        /** float32 computed by a float32 op: elementwise ops reading it stay float32. */
        SINGLE,
        /** float32 that the graph does not compute: a graph input, a constant, a cast-up copy for one op. */
        SINGLE_SOURCE
    }

    private final GraphProto.Builder g;
    private final Set<String> weights;
    private final Map<String, State> states = new HashMap<>();
    private final Map<String, TensorProto> constants = new HashMap<>();
    private final Map<String, String> converted = new HashMap<>();
    private final Map<String, ValueInfoProto> graphOutputs = new HashMap<>();
    private final Set<String> names = new HashSet<>();
    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<TensorProto> newConstants = new ArrayList<>();

    private Float16Compute(GraphProto.Builder g, Set<String> weights) {
        this.g = g;
        this.weights = weights;
    }

    /**
     * Rewrites {@code g} in place. {@code weights} are the graph's weight initializers, which the caller stores as
     * float16 under the same names.
     */
    static void apply(GraphProto.Builder g, Set<String> weights) {
        new Float16Compute(g, weights).run();
    }

    /** Whether a value's shape has the KV cache's past dimension. */
    static boolean isKvCache(ValueInfoProto v) {
        return v.getType().getTensorType().getShape().getDimList().stream()
                .map(TensorShapeProto.Dimension::getDimParam)
                .anyMatch(QuantizationPlan.GraphRole.PAST_DIM::equals);
    }

    private void run() {
        for (ValueInfoProto v : g.getInputList()) {
            names.add(v.getName());
        }
        g.getNodeList().forEach(n -> names.addAll(n.getOutputList()));
        g.getInitializerList().forEach(t -> names.add(t.getName()));
        names.addAll(weights);

        List<ValueInfoProto> inputs = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            boolean isFloat = elemType(v) == DataType.FLOAT;
            if (isFloat && isKvCache(v)) {
                inputs.add(withElemType(v, DataType.FLOAT16));
                states.put(v.getName(), State.HALF);
            } else {
                inputs.add(v);
                states.put(v.getName(), isFloat ? State.SINGLE_SOURCE : State.OTHER);
            }
        }
        for (TensorProto t : g.getInitializerList()) {
            boolean isFloat = t.getDataType() == DataType.FLOAT.getNumber();
            states.put(t.getName(), isFloat ? State.SINGLE_SOURCE : State.OTHER);
            if (isFloat) {
                constants.put(t.getName(), t);
            }
        }
        for (String w : weights) {
            states.put(w, State.HALF);
        }
        for (ValueInfoProto v : g.getOutputList()) {
            graphOutputs.put(v.getName(), v);
        }

        for (NodeProto n : g.getNodeList()) {
            rewrite(n);
        }

        List<ValueInfoProto> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) {
            outputs.add(elemType(v) == DataType.FLOAT && isKvCache(v) ? withElemType(v, DataType.FLOAT16) : v);
        }
        g.clearInput().addAllInput(inputs).clearOutput().addAllOutput(outputs).clearNode().addAllNode(nodes)
                .addAllInitializer(newConstants);
    }

    private void rewrite(NodeProto n) {
        String op = n.getOpType();
        NodeProto.Builder b = n.toBuilder();
        State[] outStates = new State[n.getOutputCount()];
        if (op.equals("Cast")) {
            long to = attribute(n, "to").getI();
            State out = State.OTHER;
            if (to == DataType.FLOAT.getNumber() || to == DataType.FLOAT16.getNumber()) {
                setAttribute(b, "to", DataType.FLOAT16.getNumber());
                out = State.HALF;
            }
            outStates[0] = out;
        } else if (NOT_FLOAT.containsKey(op)) {
            java.util.Arrays.fill(outStates, State.OTHER);
        } else {
            State want = precision(n);
            for (int i = 0; i < n.getInputCount(); i++) {
                String in = n.getInput(i);
                if (!in.isEmpty() && isFloat(state(in, n)) && !matches(state(in, n), want)) {
                    b.setInput(i, convert(in, want));
                }
            }
            for (int i = 0; i < outStates.length; i++) {
                outStates[i] = outputState(n, i, want);
            }
        }
        List<NodeProto> casts = new ArrayList<>();
        for (int i = 0; i < outStates.length; i++) {
            String out = n.getOutput(i);
            if (out.isEmpty()) {
                continue;
            }
            ValueInfoProto declared = graphOutputs.get(out);
            if (declared != null && elemType(declared) == DataType.FLOAT && isFloat(outStates[i])) {
                State wanted = isKvCache(declared) ? State.HALF : State.SINGLE_SOURCE;
                if (!matches(outStates[i], wanted)) {
                    String inner = fresh(out + (outStates[i] == State.HALF ? "__fp16" : "__fp32"));
                    b.setOutput(i, inner);
                    states.put(inner, outStates[i]);
                    casts.add(castNode(inner, out, wanted == State.HALF ? DataType.FLOAT16 : DataType.FLOAT));
                    outStates[i] = wanted;
                }
            }
            states.put(out, outStates[i]);
        }
        nodes.add(b.build());
        nodes.addAll(casts);
    }

    /** The precision op {@code n} computes in. */
    private State precision(NodeProto n) {
        String op = n.getOpType();
        if (HALF.contains(op)) {
            return State.HALF;
        }
        if (SINGLE.contains(op)) {
            return State.SINGLE;
        }
        if (FOLLOW.contains(op)) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && state(in, n) == State.SINGLE) {
                    return State.SINGLE;
                }
            }
            return State.HALF;
        }
        throw new IllegalArgumentException("fp16-compute has no float16 rule for the " + domain(n) + op
                + " node " + n.getName() + "; it converts the fused encoder and LLaMA decoder graphs");
    }

    /** The state of output {@code i} of a node computing in {@code want}. */
    private State outputState(NodeProto n, int i, State want) {
        String op = n.getOpType();
        if (op.equals("TopK") && i == 1) {
            return State.OTHER;
        }
        if ((op.equals("SkipLayerNormalization") || op.equals("SkipSimplifiedLayerNormalization")
                || op.equals("LayerNormalization") || op.equals("SimplifiedLayerNormalization"))
                && (i == 1 || i == 2)) {
            return State.SINGLE_SOURCE; // mean and inverse standard deviation: float32 (stash type)
        }
        int data = switch (op) {
            case "Where" -> 1;
            default -> 0;
        };
        return isFloat(state(n.getInput(data), n)) ? want : State.OTHER;
    }

    private String convert(String tensor, State want) {
        boolean toHalf = want == State.HALF;
        String key = tensor + (toHalf ? "\0half" : "\0single");
        String done = converted.get(key);
        if (done != null) {
            return done;
        }
        String name = fresh(tensor + (toHalf ? "__fp16" : "__fp32"));
        TensorProto constant = constants.get(tensor);
        if (constant != null && toHalf) {
            newConstants.add(halfConstant(constant, name));
        } else {
            nodes.add(castNode(tensor, name, toHalf ? DataType.FLOAT16 : DataType.FLOAT));
        }
        states.put(name, toHalf ? State.HALF : State.SINGLE_SOURCE);
        converted.put(key, name);
        return name;
    }

    private static boolean matches(State have, State want) {
        return want == State.HALF ? have == State.HALF : have == State.SINGLE || have == State.SINGLE_SOURCE;
    }

    private static boolean isFloat(State s) {
        return s != State.OTHER;
    }

    private State state(String tensor, NodeProto reader) {
        State s = states.get(tensor);
        if (s == null) {
            throw new IllegalStateException("node " + reader.getName() + " reads " + tensor
                    + ", which no earlier node, input or initializer produces");
        }
        return s;
    }

    private static TensorProto halfConstant(TensorProto t, String name) {
        float[] values = floats(t);
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            if (Float.isFinite(v) && Math.abs(v) > HALF_MAX) {
                throw new IllegalArgumentException("constant " + t.getName() + " (" + v + ") does not fit float16; "
                        + "fp16-compute converts the fused graphs, whose masks need no float-min scores");
            }
            bytes.putShort(HalfFloats.floatToHalf(v));
        }
        return t.toBuilder().setName(name).setDataType(DataType.FLOAT16.getNumber()).clearFloatData()
                .setRawData(ByteString.copyFrom(bytes.array())).build();
    }

    private static float[] floats(TensorProto t) {
        if (t.hasRawData()) {
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[raw.remaining() / 4];
            raw.asFloatBuffer().get(out);
            return out;
        }
        float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }

    private NodeProto castNode(String in, String out, DataType to) {
        return NodeProto.newBuilder().setOpType("Cast").setName(fresh("cast_" + out)).addInput(in).addOutput(out)
                .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                        .setI(to.getNumber()))
                .build();
    }

    private String fresh(String prefix) {
        String n = prefix;
        for (int i = 1; names.contains(n); i++) {
            n = prefix + "_" + i;
        }
        names.add(n);
        return n;
    }

    private static AttributeProto attribute(NodeProto n, String name) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(n.getOpType() + " node " + n.getName() + " has no "
                        + name + " attribute"));
    }

    private static void setAttribute(NodeProto.Builder b, String name, long value) {
        for (int i = 0; i < b.getAttributeCount(); i++) {
            if (b.getAttribute(i).getName().equals(name)) {
                b.setAttribute(i, b.getAttribute(i).toBuilder().setI(value));
            }
        }
    }

    private static DataType elemType(ValueInfoProto v) {
        return DataType.forNumber(v.getType().getTensorType().getElemType());
    }

    private static ValueInfoProto withElemType(ValueInfoProto v, DataType type) {
        TypeProto.Tensor tt = v.getType().getTensorType().toBuilder().setElemType(type.getNumber()).build();
        return v.toBuilder().setType(v.getType().toBuilder().setTensorType(tt)).build();
    }

    private static String domain(NodeProto n) {
        return n.getDomain().isEmpty() ? "" : n.getDomain().toLowerCase(Locale.ROOT) + ".";
    }
}
