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
        assumeTrue(Files.isDirectory(Path.of("/proc/thread-self")), "needs /proc/thread-self (Linux)");
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
        try (OrtSession onCaller = OrtSessions.openOnCaller(graph, options);
             OrtSession pooled = OrtSessions.open(graph, options);
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {512, width})) {
            float[][] expected;
            try (OrtSession.Result r = pooled.run(Map.of("x", in))) {
                expected = (float[][]) r.get(0).getValue();
            }
            onCaller.run(Map.of("x", in)).close(); // warm up
            String self = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            Map<String, Long> before = unnamedThreadsCpu(self);
            float[][] actual = null;
            for (int i = 0; i < 10; i++) {
                try (OrtSession.Result r = onCaller.run(Map.of("x", in))) {
                    actual = (float[][]) r.get(0).getValue();
                }
            }
            Map<String, Long> after = unnamedThreadsCpu(self);
            long caller = after.get(self) - before.get(self);
            long others = 0;
            for (Map.Entry<String, Long> e : after.entrySet()) {
                if (!e.getKey().equals(self)) {
                    others += e.getValue() - before.getOrDefault(e.getKey(), 0L);
                }
            }
            for (int row = 0; row < expected.length; row++) {
                assertThat(actual[row]).as("row %d", row).containsExactly(expected[row]);
            }
            // ONNX Runtime's pool workers are native threads without a name of their own (the JVM names its own)
            assertThat((double) others / caller).as("CPU of the other unnamed (ONNX Runtime) threads over the "
                    + "caller's during the runs (shared pool: %d threads)", OrtSessions.sharedPoolThreads())
                    .isLessThan(0.05);
        }
    }

    private static void run(OrtEnvironment env, OrtSession s) throws Exception {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {1, -1}), new long[] {1, 2});
             OrtSession.Result r = s.run(Map.of("x", in))) {
            assertThat(((float[][]) r.get(0).getValue())[0]).hasSize(3);
        }
    }

    /**
     * Nanoseconds on a core of each OS thread (by thread id) named like the process ("java"): the test's own thread
     * and ONNX Runtime's native pool workers, not the JVM's named threads (compilers, GC); and thread {@code self}.
     */
    private static Map<String, Long> unnamedThreadsCpu(String self) throws IOException {
        Map<String, Long> out = new java.util.HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String tid = t.getFileName().toString();
                    if (tid.equals(self) || Files.readString(t.resolve("comm")).trim().equals("java")) {
                        out.put(t.getFileName().toString(),
                                Long.parseLong(Files.readString(t.resolve("schedstat")).trim().split(" ")[0]));
                    }
                } catch (IOException gone) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
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
