package dev.loupe.model.tools;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.onnx.Weight;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Whether an int8 image tower's q, k and v should be one packed {@code DynamicQuantizeMatMul} (one quantization of
 * the block's input instead of three, one wider GEMM) followed by a {@code Split} (ONNX Runtime's CPU
 * {@code MultiHeadAttention} takes no packed QKV) rather than three: six attention blocks of the benchmark tower's
 * width (384, 6 heads, 257 rows) written both ways as int8 image-tower graphs, run alternately on one thread
 * ({@link OrtSessions#openOnCaller}), CPU time per run (docs/benchmarks.md, "int8 image side: runs on their callers").
 *
 * <p>Usage: {@code PackedQkvTiming DIR ROUNDS} (DIR: where the two graphs are written).
 */
public final class PackedQkvTiming {
    private PackedQkvTiming() {}

    private static Path build(boolean packed, Path dir) throws Exception {
        int d = 384, layers = 6;
        GraphBuilder g = new GraphBuilder("qkv_tower");
        String x4 = g.input("pixel_values", DataType.FLOAT, "batch", 1, 257, d);
        String h = g.reshape(x4, 0, 257, d);
        SplittableRandom r = new SplittableRandom(3);
        for (int l = 0; l < layers; l++) {
            float[] w = new float[3 * d * d];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextDouble() - 0.5) / 10;
            }
            float[] b = new float[3 * d];
            String bias = g.weight("b" + l, Weight.of(b, 3 * d));
            String q, k, v;
            if (packed) {
                String qkv = g.matMul(h, g.weight("w" + l, Weight.of(w, d, 3 * d)));
                String[] p = g.opN("Split", 3, Map.of("axis", -1L), qkv, g.constLongs(d, d, d));
                q = p[0];
                k = p[1];
                v = p[2];
            } else {
                String[] p = new String[3];
                for (int j = 0; j < 3; j++) {
                    float[] part = new float[d * d];
                    for (int row = 0; row < d; row++) {
                        System.arraycopy(w, row * 3 * d + j * d, part, row * d, d);
                    }
                    p[j] = g.matMul(h, g.weight("w" + l + "_" + j, Weight.of(part, d, d)));
                }
                q = p[0];
                k = p[1];
                v = p[2];
            }
            h = g.msOp("MultiHeadAttention", 1, Map.of("num_heads", 6L), q, k, v, bias)[0];
        }
        g.output(h, "out", DataType.FLOAT, "batch", 257, d);
        Path f = dir.resolve(packed ? "packed.onnx" : "three.onnx");
        OnnxModelWriter.write(g, f, Precision.INT8);
        return f;
    }

    public static void main(String[] a) throws Exception {
        if (a.length != 2) {
            System.err.println("usage: PackedQkvTiming DIR ROUNDS");
            System.exit(2);
        }
        Path dir = Path.of(a[0]);
        RuntimeOptions o = RuntimeOptions.cpu(2);
        OrtEnvironment env = OrtSessions.environment(o);
        OrtSession three = OrtSessions.openOnCaller(build(false, dir), o);
        OrtSession packed = OrtSessions.openOnCaller(build(true, dir), o);
        float[] px = new float[257 * 384];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) (r.nextDouble() * 2 - 1);
        }
        OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(px), new long[] {1, 1, 257, 384});
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        int rounds = Integer.parseInt(a[1]);
        long[][] cpu = new long[2][rounds];
        float maxDiff = 0;
        for (int i = -20; i < rounds; i++) {
            for (int s = 0; s < 2; s++) {
                OrtSession ses = s == 0 ? three : packed;
                long c0 = mx.getCurrentThreadCpuTime();
                ses.run(Map.of("pixel_values", t)).close();
                long c1 = mx.getCurrentThreadCpuTime();
                if (i >= 0) cpu[s][i] = c1 - c0;
            }
        }
        try (OrtSession.Result r1 = three.run(Map.of("pixel_values", t));
             OrtSession.Result r2 = packed.run(Map.of("pixel_values", t))) {
            float[][][] o1 = (float[][][]) r1.get(0).getValue();
            float[][][] o2 = (float[][][]) r2.get(0).getValue();
            for (int i = 0; i < 257; i++) {
                for (int j = 0; j < 384; j++) {
                    maxDiff = Math.max(maxDiff, Math.abs(o1[0][i][j] - o2[0][i][j]));
                }
            }
        }
        for (long[] c : cpu) {
            Arrays.sort(c);
        }
        System.out.printf(java.util.Locale.ROOT, "6 blocks, one thread, CPU ms per run, median (p25-p75): three "
                + "MatMuls %.3f (%.3f-%.3f), packed+Split %.3f (%.3f-%.3f); max |diff| %.3g%n",
                cpu[0][rounds / 2] / 1e6, cpu[0][rounds / 4] / 1e6, cpu[0][3 * rounds / 4] / 1e6,
                cpu[1][rounds / 2] / 1e6, cpu[1][rounds / 4] / 1e6, cpu[1][3 * rounds / 4] / 1e6, maxDiff);
    }
}
