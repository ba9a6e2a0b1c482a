package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.checkpoint.RandomCheckpointWriter;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each quantized scheme, written from a torch-layout Linear weight [out, in] (transposed to the MatMul operand
 * [K, N]) and run in a real ONNX Runtime session, computes x·W of the float32 weight within its quantization error;
 * a wrong layout (W instead of W^T, swapped blocks) would be off by the size of the output itself.
 */
class QuantizedWeightsTest {
    private static final int K = 100; // not a multiple of the block size: the last block is padded
    private static final int N = 72;

    @ParameterizedTest(name = "{0}, {1} rows")
    @CsvSource({"NBITS8,1", "NBITS8,5", "NBITS4,1", "NBITS4,5", "ROW_INT8,1", "ROW_INT8,5", "DYNAMIC_INT8,1", "DYNAMIC_INT8,5"})
    void quantizedMatMulMatchesTheFloatProduct(MatMulScheme scheme, int rows, @TempDir Path dir) throws Exception {
        float[] torchWeight = RandomCheckpointWriter.randomValues(11, N * K, 0.05); // [N, K]
        float[] x = RandomCheckpointWriter.randomValues(12, rows * K, 1.0);
        Path file = writeLinear(torchWeight, scheme, dir);

        ModelProto model = parse(file);
        NodeProto op = model.getGraph().getNode(model.getGraph().getNodeCount() - 2); // before the output Identity
        assertThat(op.getOpType()).isEqualTo(switch (scheme) {
            case DYNAMIC_INT8 -> "DynamicQuantizeMatMul";
            case ROW_INT8 -> "MatMulIntegerToFloat";
            default -> "MatMulNBits";
        });
        assertThat(op.getDomain()).isEqualTo(GraphBuilder.MS_DOMAIN);
        assertThat(model.getGraph().getInitializerList()).noneMatch(t -> t.getDataType() == DataType.FLOAT.getNumber()
                && t.getDimsCount() == 2 && t.getDims(0) * t.getDims(1) == (long) N * K);

        float[] got = run(file, "x", x, rows, K);
        double worst = 0;
        double scale = 0;
        for (int r = 0; r < rows; r++) {
            for (int n = 0; n < N; n++) {
                double expected = 0;
                for (int k = 0; k < K; k++) {
                    expected += (double) x[r * K + k] * torchWeight[n * K + k];
                }
                worst = Math.max(worst, Math.abs(got[r * N + n] - expected));
                scale = Math.max(scale, Math.abs(expected));
            }
        }
        // int8 weights and activations: about 1% of the largest output; 4-bit weights: about 10%
        double bound = scheme == MatMulScheme.NBITS4 ? 0.15 : 0.02;
        assertThat(worst / scale).as("largest error relative to the largest output").isLessThan(bound);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"NBITS8", "NBITS4", "ROW_INT8"})
    void aRowsResultDoesNotDependOnTheOtherRows(MatMulScheme scheme, @TempDir Path dir) throws Exception {
        Path file = writeLinear(RandomCheckpointWriter.randomValues(21, N * K, 0.05), scheme, dir);
        int rows = 16;
        float[] x = RandomCheckpointWriter.randomValues(22, rows * K, 1.0);
        for (int r = 0; r < rows; r++) { // rows of very different ranges: a shared activation scale would show
            for (int k = 0; k < K; k++) {
                x[r * K + k] *= (float) Math.pow(4, r % 4);
            }
        }
        float[] batch = run(file, "x", x, rows, K);
        for (int r = 0; r < rows; r += 5) {
            float[] alone = run(file, "x", java.util.Arrays.copyOfRange(x, r * K, (r + 1) * K), 1, K);
            assertThat(java.util.Arrays.copyOfRange(batch, r * N, (r + 1) * N)).as("row %d", r)
                    .containsExactly(alone, org.assertj.core.data.Offset.offset(0f));
        }
    }

    @Test
    void rowQuantizationIsTwoReductionsAndOneQuantizeLinearPass(@TempDir Path dir) throws Exception {
        Path file = writeLinear(RandomCheckpointWriter.randomValues(31, N * K, 0.05), MatMulScheme.ROW_INT8, dir);
        // the ops between the input and the output Identity, in order: what ONNX Runtime runs per quantized MatMul
        assertThat(parse(file).getGraph().getNodeList()).extracting(NodeProto::getOpType)
                .containsExactly("ReduceMax", "ReduceMin", "Neg", "Max", "Div", "Div", "QuantizeLinear",
                        "MatMulIntegerToFloat", "Identity");
        assertThat(parse(file).getMetadataPropsList()).isEmpty();
    }

    @Test
    void int8ImageTowersRangeOverTheRunAndSaySo(@TempDir Path dir) throws Exception {
        float[] torchWeight = RandomCheckpointWriter.randomValues(41, N * K, 0.05);
        Path tower = dir.resolve("tower.onnx");
        GraphBuilder g = new GraphBuilder("tower");
        String pixels = g.input("pixels", DataType.FLOAT, "batch", 2, 3, K); // every input an image batch
        g.output(g.matMul(pixels, g.weight("w", Weight.of(torchWeight, N, K).transposed())), "y", DataType.FLOAT,
                "batch", 2, 3, N);
        OnnxModelWriter.write(g, tower, Precision.INT8);
        Path encoder = dir.resolve("encoder.onnx");
        GraphBuilder e = new GraphBuilder("encoder");
        String tokens = e.input("tokens", DataType.FLOAT, "batch", "seq", K);
        e.output(e.matMul(tokens, e.weight("w", Weight.of(torchWeight, N, K).transposed())), "y", DataType.FLOAT,
                "batch", "seq", N);
        OnnxModelWriter.write(e, encoder, Precision.INT8);

        assertThat(parse(tower).getGraph().getNodeList()).extracting(NodeProto::getOpType)
                .containsExactly("DynamicQuantizeMatMul", "Identity");
        assertThat(parse(encoder).getGraph().getNodeList()).extracting(NodeProto::getOpType)
                .contains("MatMulIntegerToFloat").doesNotContain("DynamicQuantizeMatMul");
        OrtEnvironment env = OrtSessions.environment(RuntimeOptions.cpu(1));
        try (OrtSession t = env.createSession(tower.toString(), new OrtSession.SessionOptions());
             OrtSession s = env.createSession(encoder.toString(), new OrtSession.SessionOptions())) {
            assertThat(RowsPerRun.of(t, 4)).isEqualTo(1);
            assertThat(RowsPerRun.of(s, 4)).isEqualTo(4);
        }
        // read from the file too, as the device-bound runner's sessions do
        assertThat(RowsPerRun.of(tower, 4)).isEqualTo(1);
        assertThat(RowsPerRun.of(encoder, 4)).isEqualTo(4);
        // and the tower's range is the run's: two images of different scales differ from each alone
        float[] x = RandomCheckpointWriter.randomValues(42, 2 * 6 * K, 1.0);
        for (int i = 6 * K; i < x.length; i++) {
            x[i] *= 16;
        }
        float[] both = run(tower, "pixels", x, new long[] {2, 2, 3, K});
        float[] first = run(tower, "pixels", java.util.Arrays.copyOf(x, 6 * K), new long[] {1, 2, 3, K});
        assertThat(java.util.Arrays.copyOf(both, 6 * N)).isNotEqualTo(first);
    }

    @Test
    void int8EmbeddingRowsAreTheTableRowsWithinTheirScale(@TempDir Path dir) throws Exception {
        int vocab = 1200;
        int width = 40;
        float[] table = RandomCheckpointWriter.randomValues(13, vocab * width, 1.0);
        GraphBuilder g = new GraphBuilder("embed");
        String ids = g.input("ids", DataType.INT64, "batch", "seq");
        g.output(g.gather(g.weight("table", Weight.of(table, vocab, width)), ids, 0), "rows", DataType.FLOAT,
                "batch", "seq", width);
        Path file = dir.resolve("e.onnx");
        OnnxModelWriter.write(g, file, Precision.INT8);
        assertThat(parse(file).getGraph().getInitializerList())
                .anyMatch(t -> t.getDataType() == DataType.INT8.getNumber() && t.getDims(0) == vocab);

        long[] idValues = {0, 7, 1199, 500, 7, 3};
        OrtEnvironment env = OrtSessions.environment(RuntimeOptions.cpu(1));
        try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(idValues), new long[] {2, 3});
             OrtSession.Result r = s.run(Map.of("ids", t))) {
            float[] got = ((OnnxTensor) r.get(0)).getFloatBuffer().array();
            for (int i = 0; i < idValues.length; i++) {
                int row = (int) idValues[i];
                float max = 0;
                for (int c = 0; c < width; c++) {
                    max = Math.max(max, Math.abs(table[row * width + c]));
                }
                for (int c = 0; c < width; c++) {
                    assertThat(got[i * width + c]).isCloseTo(table[row * width + c],
                            org.assertj.core.data.Offset.offset(max / 254f * 1.0001f));
                }
            }
        }
    }

    @Test
    void floatPrecisionsAndSmallTablesAreLeftAlone(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder("embed");
        String ids = g.input("ids", DataType.INT64, "batch", "seq");
        g.output(g.gather(g.weight("positions", Weight.of(new float[64 * 8], 64, 8)), ids, 0), "rows",
                DataType.FLOAT, "batch", "seq", 8);
        Path file = dir.resolve("p.onnx");
        OnnxModelWriter.write(g, file, Precision.INT8);
        assertThat(parse(file).getGraph().getNodeList()).extracting(NodeProto::getOpType).contains("Gather")
                .doesNotContain("Cast");
        assertThat(Precision.parse("INT8")).isEqualTo(Precision.INT8);
        assertThat(Precision.FP32.plan()).isNull();
    }

    /** y = x·W^T for a torch Linear weight [N, K], written with every weight MatMul in {@code scheme}. */
    private static Path writeLinear(float[] torchWeight, MatMulScheme scheme, Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder("linear");
        String in = g.input("x", DataType.FLOAT, "rows", K);
        g.output(g.matMul(in, g.weight("w", Weight.of(torchWeight, N, K).transposed())), "y", DataType.FLOAT,
                "rows", N);
        Path file = dir.resolve("q.onnx");
        OnnxModelWriter.write(g, file, QuantizationPlan.uniform(scheme, false));
        return file;
    }

    private static ModelProto parse(Path file) throws Exception {
        try (InputStream s = Files.newInputStream(file)) {
            return ModelProto.parseFrom(s);
        }
    }

    private static float[] run(Path file, String input, float[] x, int rows, int cols) throws Exception {
        return run(file, input, x, new long[] {rows, cols});
    }

    private static float[] run(Path file, String input, float[] x, long[] shape) throws Exception {
        OrtEnvironment env = OrtSessions.environment(RuntimeOptions.cpu(1));
        try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
             OrtSession.Result r = s.run(Map.of(input, t))) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        }
    }
}
