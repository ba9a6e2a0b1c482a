package dev.loupe.model.onnx;

import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.onnxruntime.Session;

/**
 * Sessions over tiny graphs built in code (gathers and copies that must run on the execution provider, as ONNX
 * Runtime copies tensors between device buffers only through sessions): the graph is written to a temporary file,
 * opened through {@link BoundSessions} and the file deleted.
 */
public final class GraphSessions {
    private GraphSessions() {}

    /** A C++-API session over {@code graph} on {@code options}' device. */
    public static Session open(GraphBuilder graph, RuntimeOptions options) throws IOException {
        Path dir = Files.createTempDirectory("loupe-" + graph.name());
        Path file = dir.resolve(graph.name() + ".onnx");
        try {
            OnnxModelWriter.write(graph, file);
            return BoundSessions.open(file, options);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
