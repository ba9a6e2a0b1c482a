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
        OrtSessions.environment(RuntimeOptions.cpu(1));
        int threads = OrtSessions.sharedPoolThreads();
        OrtEnvironment again = OrtSessions.environment(RuntimeOptions.cpu(threads + 3));
        assertThat(OrtSessions.sharedPoolThreads()).isEqualTo(threads);
        assertThat(again).isSameAs(OrtSessions.environment());
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
