package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Float16Compute} on small graphs: a plain-op RMSNorm stays a float32 island, so activations whose squares
 * overflow float16 still normalize; constants that do not fit float16 and ops without a rule are refused by name.
 */
class Float16ComputeTest {
    private static final int WIDTH = 64;
    private static final int OUT = 8;

    @TempDir
    Path tmp;

    @Test
    void rmsNormOfLargeActivationsRunsInFloat32() throws Exception {
        Path single = tmp.resolve("fp32.onnx");
        Path half = tmp.resolve("fp16-compute.onnx");
        OnnxModelWriter.write(rmsNormThenLinear(), single, Precision.FP32);
        OnnxModelWriter.write(rmsNormThenLinear(), half, Precision.FP16_COMPUTE);
        float[][] x = new float[3][WIDTH];
        Random r = new Random(7);
        for (float[] row : x) {
            for (int i = 0; i < WIDTH; i++) {
                row[i] = (float) (r.nextGaussian() * 1000); // x² up to ~1e7: float16's largest value is 65504
            }
        }
        // the island as written: x² of the float32 input, the norm's scalars float32, its result cast down for the
        // MatMul (ONNX Runtime's CPU provider would hide a float16 x² by running it in float32 between its casts)
        ai.onnx.proto.OnnxMl.GraphProto graph;
        try (var in = java.nio.file.Files.newInputStream(half)) {
            graph = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(in).getGraph();
        }
        Map<String, ai.onnx.proto.OnnxMl.NodeProto> producers = new java.util.HashMap<>();
        graph.getNodeList().forEach(n -> n.getOutputList().forEach(o -> producers.put(o, n)));
        for (ai.onnx.proto.OnnxMl.NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Pow") && n.getInput(0).equals("x")) {
                continue; // the float32 graph input itself
            }
            if (n.getOpType().equals("Pow") || n.getOpType().equals("MatMul")) {
                ai.onnx.proto.OnnxMl.NodeProto cast = producers.get(n.getInput(0));
                assertThat(cast).as(n.getOpType() + " input producer").isNotNull();
                assertThat(cast.getOpType()).as(n.getOpType() + " input").isEqualTo("Cast");
                assertThat(cast.getAttribute(0).getI()).as(n.getOpType() + " input type").isEqualTo(
                        (n.getOpType().equals("Pow") ? DataType.FLOAT : DataType.FLOAT16).getNumber());
            }
        }
        assertThat(graph.getInitializerList()).filteredOn(t -> t.getDimsCount() == 0)
                .allSatisfy(t -> assertThat(t.getDataType()).as(t.getName()).isEqualTo(DataType.FLOAT.getNumber()));
        float[][] expected = run(single, x);
        float[][] got = run(half, x);
        for (int b = 0; b < x.length; b++) {
            for (int j = 0; j < OUT; j++) {
                assertThat(got[b][j]).as("row %d, column %d", b, j).isFinite()
                        .isCloseTo(expected[b][j], org.assertj.core.data.Offset.offset(2e-2f * Math.max(1f,
                                Math.abs(expected[b][j]))));
            }
        }
    }

    @Test
    void constantsBeyondFloat16AreRefused() {
        GraphBuilder g = new GraphBuilder("masked");
        String x = g.input("x", DataType.FLOAT, "batch", WIDTH);
        String masked = g.op("Where", g.op("Less", x, g.scalar(0f)), g.scalar(-Float.MAX_VALUE), x);
        g.output(g.matMul(masked, g.weight("w", ones(WIDTH * OUT, WIDTH, OUT))), "y", DataType.FLOAT, "batch", OUT);
        assertThatThrownBy(() -> OnnxModelWriter.write(g, tmp.resolve("m.onnx"), Precision.FP16_COMPUTE))
                .hasMessageContaining("does not fit float16");
    }

    @Test
    void opsWithoutARuleAreRefusedByName() {
        GraphBuilder g = new GraphBuilder("abs");
        String x = g.input("x", DataType.FLOAT, "batch", WIDTH);
        g.output(g.op("Abs", g.matMul(x, g.weight("w", ones(WIDTH * OUT, WIDTH, OUT)))), "y", DataType.FLOAT,
                "batch", OUT);
        assertThatThrownBy(() -> OnnxModelWriter.write(g, tmp.resolve("m.onnx"), Precision.FP16_COMPUTE))
                .hasMessageContaining("no float16 rule for the Abs node");
    }

    /** LLaMA's RMSNorm written as plain ops (as the fused decoder's first and last norms are), then a Linear. */
    private static GraphBuilder rmsNormThenLinear() {
        GraphBuilder g = new GraphBuilder("rms");
        String x = g.input("x", DataType.FLOAT, "batch", WIDTH);
        String variance = g.op("ReduceMean", Map.of("keepdims", 1L), g.op("Pow", x, g.scalar(2f)), g.constLongs(-1));
        String normed = g.div(x, g.op("Sqrt", g.add(variance, g.scalar(1e-6f))));
        String h = g.mul(g.weight("norm", ones(WIDTH, WIDTH)), normed);
        float[] proj = new float[WIDTH * OUT];
        Random r = new Random(3);
        for (int i = 0; i < proj.length; i++) {
            proj[i] = (float) r.nextGaussian() * 0.1f;
        }
        g.output(g.matMul(h, g.weight("proj", Weight.of(proj, WIDTH, OUT))), "y", DataType.FLOAT, "batch", OUT);
        return g;
    }

    private static Weight ones(int n, long... dims) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return Weight.of(v, dims);
    }

    private static float[][] run(Path model, float[][] x) throws Exception {
        OrtEnvironment env = OrtSessions.environment();
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, x);
             OrtSession.Result out = s.run(Map.of("x", in))) {
            return (float[][]) out.get(0).getValue();
        }
    }
}
