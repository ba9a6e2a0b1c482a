package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.checkpoint.HalfFloats;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The streamed writer (inline protobuf framed by hand, or external data) at both precisions: the protobuf parses,
 * fp16 weights are FLOAT16 initializers cast to float, and ONNX Runtime computes x @ W with W as stored.
 */
class OnnxModelWriterPrecisionTest {

    @ParameterizedTest(name = "{0}, external data = {1}")
    @CsvSource({"FP32,false", "FP32,true", "FP16,false", "FP16,true"})
    void streamedWeightsRoundTripThroughOnnxRuntime(Precision precision, boolean external, @TempDir Path dir)
            throws Exception {
        int in = 70;
        int out = 131; // more than one transpose tile each way
        float[] w = dev.loupe.model.checkpoint.RandomCheckpointWriter.randomValues(3, in * out, 1.0);
        float[] bias = dev.loupe.model.checkpoint.RandomCheckpointWriter.randomValues(4, out, 1.0);
        GraphBuilder g = new GraphBuilder("linear");
        String x = g.input("x", DataType.FLOAT, 1, in);
        String y = g.linear(x, g.weight("w", Weight.of(w, out, in).transposed()), g.weight("b", Weight.of(bias, out)));
        g.output(y, "y", DataType.FLOAT, 1, out);
        Path file = dir.resolve("linear.onnx");
        OnnxModelWriter.write(g, file, precision, external);

        assertThat(Files.exists(dir.resolve("linear.onnx.data"))).isEqualTo(external);
        ModelProto model;
        try (InputStream s = Files.newInputStream(file)) {
            model = ModelProto.parseFrom(s);
        }
        TensorProto init = model.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().startsWith("w")).findFirst().orElseThrow();
        assertThat(init.getDataType()).isEqualTo(precision == Precision.FP16 ? DataType.FLOAT16.getNumber()
                : DataType.FLOAT.getNumber());
        assertThat(init.getDimsList()).containsExactly((long) in, (long) out);
        if (!external) {
            assertThat(init.getRawData().size()).isEqualTo(in * out * precision.bytes());
        }
        if (precision == Precision.FP16) {
            assertThat(init.getName()).isEqualTo("w" + OnnxModelWriter.FP16_SUFFIX);
            assertThat(model.getGraph().getNode(0).getOpType()).isEqualTo("Cast");
        }

        float[] xs = dev.loupe.model.checkpoint.RandomCheckpointWriter.randomValues(5, in, 1.0);
        OrtEnvironment env = OrtSessions.environment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(file.toString(), so);
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(xs), new long[] {1, in});
                 OrtSession.Result r = s.run(Map.of("x", t))) {
                float[] got = ((float[][]) r.get(0).getValue())[0];
                for (int o = 0; o < out; o++) {
                    double expected = stored(bias[o], precision);
                    for (int i = 0; i < in; i++) {
                        expected += (double) xs[i] * stored(w[o * in + i], precision);
                    }
                    assertThat((double) got[o]).as("output %d", o)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    private static float stored(float v, Precision p) {
        return p == Precision.FP16 ? HalfFloats.halfToFloat(HalfFloats.floatToHalf(v)) : v;
    }
}
