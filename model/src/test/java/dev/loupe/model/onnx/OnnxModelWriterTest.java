package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OnnxModelWriterTest {

    @ParameterizedTest(name = "external data = {0}")
    @ValueSource(booleans = {false, true})
    void writtenGraphRunsInOnnxRuntime(boolean external, @TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder("affine");
        String x = g.input("x", DataType.FLOAT, "batch", 2);
        // torch Linear layout [out=3, in=2], transposed to [2, 3] for MatMul
        String w = g.weight("w", Weight.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).transposed());
        String b = g.weight("b", Weight.of(new float[] {0.5f, -0.5f, 1f}, 3));
        g.output(g.gelu(g.linear(x, w, b)), "y", DataType.FLOAT, "batch", 3);
        Path file = dir.resolve("affine.onnx");
        OnnxModelWriter.write(g, file, external);
        assertThat(Files.exists(dir.resolve("affine.onnx.data"))).isEqualTo(external);

        OrtEnvironment env = OrtSessions.environment();
        try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {1, -1}), new long[] {1, 2});
             OrtSession.Result r = s.run(Map.of("x", in))) {
            float[][] y = (float[][]) r.get(0).getValue();
            // pre-activation: [1-2+0.5, 3-4-0.5, 5-6+1] = [-0.5, -1.5, 0]
            assertThat(y[0][0]).isCloseTo(gelu(-0.5), org.assertj.core.data.Offset.offset(1e-6f));
            assertThat(y[0][1]).isCloseTo(gelu(-1.5), org.assertj.core.data.Offset.offset(1e-6f));
            assertThat(y[0][2]).isCloseTo(0f, org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @org.junit.jupiter.api.Test
    void attributesAreWrittenInNameOrderSoAConversionIsReproducible() {
        // Map.of iterates in an order salted per JVM: a graph written from it would differ from run to run
        Map<String, Object> attrs = new java.util.LinkedHashMap<>();
        attrs.put("sorted", 1L);
        attrs.put("axis", -1L);
        attrs.put("largest", 1L);
        GraphBuilder g = new GraphBuilder("topk");
        String x = g.input("x", DataType.FLOAT, "batch", 4);
        g.opN("TopK", 2, attrs, x, g.constLongs(2));
        assertThat(g.graphWithoutWeights().getNodeList().stream().filter(n -> n.getOpType().equals("TopK"))
                .findFirst().orElseThrow().getAttributeList())
                .extracting(ai.onnx.proto.OnnxMl.AttributeProto::getName).containsExactly("axis", "largest", "sorted");
    }

    private static float gelu(double v) {
        // erf via Abramowitz-Stegun is too coarse; use the series-free identity with Math: erf(x) = 2*Phi(x*sqrt2)-1
        return (float) (0.5 * v * (1 + erf(v / Math.sqrt(2))));
    }

    private static double erf(double x) {
        // high-precision erf (W. J. Cody's rational approximations are overkill here; Taylor to convergence)
        double sum = 0;
        double term = x;
        for (int n = 0; n < 100; n++) {
            sum += term / (2 * n + 1);
            term = -term * x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }
}
