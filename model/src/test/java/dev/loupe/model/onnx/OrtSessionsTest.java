package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sessions of a model (and of the process) run on ONNX Runtime's one global intra-op pool: opening sessions
 * starts no threads, while a session with its own pool of N threads starts N - 1 (the control that shows the
 * count can see pools). Counts the process's OS threads (/proc/self/task, Linux), since ONNX Runtime's workers are
 * native threads the JVM does not list.
 */
class OrtSessionsTest {
    private static final int THREADS = 5;

    @Test
    void sessionsShareTheGlobalPoolAndStartNoThreads(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs /proc/self/task (Linux)");
        Path graph = affine(dir);
        RuntimeOptions options = RuntimeOptions.cpu(THREADS);
        OrtEnvironment env = OrtSessions.environment(options);
        assertThat(OrtSessions.sharedPool()).isTrue();

        List<OrtSession> shared = new ArrayList<>();
        List<OrtSession> own = new ArrayList<>();
        try {
            run(env, OrtSessions.open(graph, options)); // warm up whatever a first run starts
            int before = osThreads();
            for (int i = 0; i < 4; i++) {
                shared.add(OrtSessions.open(graph, options));
                run(env, shared.get(i));
            }
            int afterShared = osThreads();

            for (int i = 0; i < 2; i++) {
                try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                    so.setIntraOpNumThreads(THREADS);
                    own.add(env.createSession(graph.toString(), so));
                }
                run(env, own.get(i));
            }
            int afterOwn = osThreads();

            // 4 sessions with pools of their own would have started 4 x (THREADS - 1) = 16 threads
            assertThat(afterShared - before).as("threads started by 4 sessions on the shared pool").isLessThan(3);
            // the control: 2 sessions with their own pools start 2 x (THREADS - 1) = 8 (minus JVM noise)
            assertThat(afterOwn - afterShared).as("threads started by 2 sessions with own pools")
                    .isGreaterThanOrEqualTo(6);
        } finally {
            for (OrtSession s : shared) {
                s.close();
            }
            for (OrtSession s : own) {
                s.close();
            }
        }
    }

    @Test
    void theFirstCallerFixesThePool() {
        OrtSessions.environment(RuntimeOptions.cpu(THREADS));
        int threads = OrtSessions.sharedPoolThreads();
        OrtEnvironment again = OrtSessions.environment(RuntimeOptions.cpu(threads + 3));
        assertThat(OrtSessions.sharedPoolThreads()).isEqualTo(threads);
        assertThat(again).isSameAs(OrtSessions.environment());
    }

    /**
     * A session opened for side-by-side runs ({@link OrtSessions#openOnCaller}) runs each run wholly on the thread
     * that calls it: the caller's own CPU time is (nearly) all the process spent, whatever the shared pool's size; its
     * outputs are bit for bit a shared-pool session's.
     */
    @Test
    void aSessionForSideBySideRunsRunsOnItsCallerWithThePoolSessionsResults(@TempDir Path dir) throws Exception {
        int width = 384;
        GraphBuilder g = new GraphBuilder("chain");
        String x = g.input("x", DataType.FLOAT, "rows", width);
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        String h = x;
        for (int i = 0; i < 6; i++) {
            float[] w = new float[width * width];
            for (int j = 0; j < w.length; j++) {
                w[j] = (float) (random.nextDouble() - 0.5) / 8;
            }
            h = g.op("Tanh", g.matMul(h, g.weight("w" + i, Weight.of(w, width, width))));
        }
        g.output(h, "y", DataType.FLOAT, "rows", width);
        Path graph = dir.resolve("chain.onnx");
        OnnxModelWriter.write(g, graph, false);
        float[] input = new float[512 * width];
        for (int j = 0; j < input.length; j++) {
            input[j] = (float) (random.nextDouble() * 2 - 1);
        }
        RuntimeOptions options = RuntimeOptions.cpu(THREADS);
        OrtEnvironment env = OrtSessions.environment(options);
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        try (OrtSession onCaller = OrtSessions.openOnCaller(graph, options);
             OrtSession pooled = OrtSessions.open(graph, options);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {512, width})) {
            float[][] expected;
            try (OrtSession.Result r = pooled.run(Map.of("x", in))) {
                expected = (float[][]) r.get(0).getValue();
            }
            onCaller.run(Map.of("x", in)).close(); // warm up
            long thread0 = threads.getCurrentThreadCpuTime();
            long process0 = os.getProcessCpuTime();
            float[][] actual = null;
            for (int i = 0; i < 10; i++) {
                try (OrtSession.Result r = onCaller.run(Map.of("x", in))) {
                    actual = (float[][]) r.get(0).getValue();
                }
            }
            double caller = threads.getCurrentThreadCpuTime() - thread0;
            double process = os.getProcessCpuTime() - process0;
            for (int row = 0; row < expected.length; row++) {
                assertThat(actual[row]).as("row %d", row).containsExactly(expected[row]);
            }
            // the rest of the JVM (compilers, GC) may take a little; a pool's workers would take a share of the runs
            assertThat(caller / process).as("the calling thread's share of the process CPU over the runs "
                    + "(shared pool: %d threads)", OrtSessions.sharedPoolThreads()).isGreaterThan(0.8);
        }
    }

    private static void run(OrtEnvironment env, OrtSession s) throws Exception {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {1, -1}), new long[] {1, 2});
             OrtSession.Result r = s.run(Map.of("x", in))) {
            assertThat(((float[][]) r.get(0).getValue())[0]).hasSize(3);
        }
    }

    private static int osThreads() throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return (int) tasks.count();
        }
    }

    private static Path affine(Path dir) throws IOException {
        GraphBuilder g = new GraphBuilder("affine");
        String x = g.input("x", DataType.FLOAT, "batch", 2);
        String w = g.weight("w", Weight.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).transposed());
        String b = g.weight("b", Weight.of(new float[] {0.5f, -0.5f, 1f}, 3));
        g.output(g.linear(x, w, b), "y", DataType.FLOAT, "batch", 3);
        Path file = dir.resolve("affine.onnx");
        OnnxModelWriter.write(g, file, false);
        return file;
    }
}
