package dev.loupe.model.tools;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.files.FileTrees;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.MatMulScheme;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.QuantizationPlan;
import dev.loupe.model.onnx.Weight;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times one weight MatMul x[M, K]·W[K, N] per {@link MatMulScheme} in real ONNX Runtime sessions on the shared
 * thread pool: the kernel measurement behind the choice of scheme per graph of an int8 package
 * (docs/benchmarks.md). Each (shape, M, scheme) is written as a one-node graph, opened, warmed up and run for at
 * least {@code minSeconds}; the figure is ms per run and GFLOP/s (2·M·K·N per run).
 */
public final class QuantizedMatMulBenchmark {

    /** One measured cell. */
    public record Result(long k, long n, int m, MatMulScheme scheme, double msPerRun, double gflops) {}

    private QuantizedMatMulBenchmark() {}

    public static List<Result> run(List<long[]> shapes, List<Integer> rows, List<MatMulScheme> schemes, int threads,
                                   double minSeconds, PrintStream progress) throws IOException, OrtException {
        List<Result> out = new ArrayList<>();
        Path dir = Files.createTempDirectory("loupe-matmul-bench-");
        try {
            RuntimeOptions options = RuntimeOptions.cpu(threads);
            OrtEnvironment env = OrtSessions.environment(options);
            for (long[] kn : shapes) {
                long k = kn[0];
                long n = kn[1];
                float[] w = random(1, Math.toIntExact(k * n), 0.02f);
                for (MatMulScheme scheme : schemes) {
                    GraphBuilder g = new GraphBuilder("matmul");
                    String x = g.input("x", DataType.FLOAT, "rows", k);
                    g.output(g.matMul(x, g.weight("w", Weight.of(w, n, k).transposed())), "y", DataType.FLOAT,
                            "rows", n);
                    Path file = dir.resolve(scheme + "-" + k + "x" + n + ".onnx");
                    OnnxModelWriter.write(g, file, QuantizationPlan.uniform(scheme, false));
                    try (OrtSession s = OrtSessions.open(file, options)) {
                        for (int m : rows) {
                            float[] xs = random(2, Math.toIntExact(m * k), 1f);
                            try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(xs), new long[] {m, k})) {
                                for (int i = 0; i < 3; i++) {
                                    s.run(Map.of("x", t)).close();
                                }
                                int runs = 0;
                                long start = System.nanoTime();
                                long elapsed;
                                do {
                                    s.run(Map.of("x", t)).close();
                                    runs++;
                                    elapsed = System.nanoTime() - start;
                                } while (elapsed < minSeconds * 1e9 || runs < 5);
                                double ms = elapsed / 1e6 / runs;
                                Result r = new Result(k, n, m, scheme, ms, 2.0 * m * k * n / (ms * 1e6));
                                out.add(r);
                                progress.printf(Locale.ROOT, "%d x %d, M %d, %s: %.3f ms, %.1f GFLOP/s%n", k, n, m,
                                        scheme, r.msPerRun(), r.gflops());
                            }
                        }
                    }
                    Files.delete(file);
                }
            }
        } finally {
            FileTrees.deleteRecursively(dir);
        }
        return out;
    }

    private static float[] random(long seed, int count, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    /** Usage: [threads] [minSeconds] [K:N,...] [M,...]; prints a Markdown table of ms per run and GFLOP/s. */
    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        double minSeconds = args.length > 1 ? Double.parseDouble(args[1]) : 0.5;
        List<long[]> shapes = new ArrayList<>();
        for (String s : (args.length > 2 ? args[2] : "384:1536,1536:384,512:1408,512:32000").split(",")) {
            String[] kn = s.split(":");
            shapes.add(new long[] {Long.parseLong(kn[0]), Long.parseLong(kn[1])});
        }
        List<Integer> rows = new ArrayList<>();
        for (String s : (args.length > 3 ? args[3] : "1,16,257,4112").split(",")) {
            rows.add(Integer.parseInt(s));
        }
        List<MatMulScheme> schemes = List.of(MatMulScheme.values());
        List<Result> results = run(shapes, rows, schemes, threads, minSeconds, System.err);
        System.out.println("| K x N | M | " + String.join(" | ", schemes.stream().map(s -> s + " ms (GFLOP/s)").toList())
                + " |");
        System.out.println("|---|---:|" + "---:|".repeat(schemes.size()));
        for (long[] kn : shapes) {
            for (int m : rows) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %d x %d | %d |", kn[0], kn[1], m));
                for (MatMulScheme s : schemes) {
                    results.stream().filter(r -> r.k() == kn[0] && r.n() == kn[1] && r.m() == m && r.scheme() == s)
                            .findFirst().ifPresent(r -> line.append(String.format(Locale.ROOT, " %.3f (%.0f) |",
                                    r.msPerRun(), r.gflops())));
                }
                System.out.println(line);
            }
        }
    }
}
