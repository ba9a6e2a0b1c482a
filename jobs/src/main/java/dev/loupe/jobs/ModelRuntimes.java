package dev.loupe.jobs;

import dev.loupe.model.api.AnnotatorFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Finds the model runtime for a {@code --model} directory among the {@link ModelRuntimeProvider}s on the
 * class path, and says clearly why when there is none.
 */
public final class ModelRuntimes {

    private ModelRuntimes() {}

    /** The providers registered on the class path, in discovery order. */
    public static List<ModelRuntimeProvider> providers() {
        List<ModelRuntimeProvider> found = new ArrayList<>();
        ServiceLoader.load(ModelRuntimeProvider.class).forEach(found::add);
        return found;
    }

    /**
     * The factory for the model in {@code modelDir}, configured from the job's {@code options}.
     *
     * @throws IllegalArgumentException when {@code modelDir} is null or not a directory, or no registered
     *     runtime accepts it
     */
    public static AnnotatorFactory resolve(Path modelDir, ReadableConfig options) {
        if (modelDir == null) {
            throw new IllegalArgumentException("--model is required (option loupe.model): a Loupe model package or a Hugging Face "
                    + "checkpoint directory");
        }
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("--model " + modelDir + " is not a directory");
        }
        List<ModelRuntimeProvider> providers = providers();
        for (ModelRuntimeProvider provider : providers) {
            if (provider.accepts(modelDir)) {
                try {
                    return provider.factoryFor(modelDir, options);
                } catch (IOException e) {
                    throw new UncheckedIOException("the " + provider.name() + " runtime cannot load " + modelDir
                            + ": " + e.getMessage(), e);
                }
            }
        }
        List<String> names = providers.stream().map(ModelRuntimeProvider::name).toList();
        throw new IllegalArgumentException("no model runtime available for " + modelDir
                + (names.isEmpty()
                        ? ": this build includes no model runtime"
                        : ": none of the runtimes in this build (" + String.join(", ", names) + ") accepts it")
                + " (expected a Loupe model package or a Hugging Face checkpoint directory)");
    }
}
