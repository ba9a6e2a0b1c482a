package dev.loupe.jobs.testing;

import dev.loupe.jobs.ModelRuntimeProvider;
import dev.loupe.model.api.AnnotatorFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.ReadableConfig;

/** Test-only model runtime: accepts a directory holding {@code echo-model.txt}, and runs the echo annotator. */
public final class EchoModelRuntime implements ModelRuntimeProvider {

    public static final String MARKER = "echo-model.txt";

    @Override
    public String name() {
        return "echo (test)";
    }

    @Override
    public boolean accepts(Path modelDir) {
        return Files.isRegularFile(modelDir.resolve(MARKER));
    }

    @Override
    public AnnotatorFactory factoryFor(Path modelDir, ReadableConfig options) {
        return EchoAnnotatorFactory.fast("echo-runtime");
    }
}
