package dev.loupe.jobs;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The built-in model runtime: every family {@link Models} supports (model packages and Hugging Face checkpoints,
 * converted once into the cache), with the job's image limits applied to decoding.
 */
public final class LoupeModelRuntime implements ModelRuntimeProvider {

    @Override
    public String name() {
        return "loupe";
    }

    @Override
    public boolean accepts(Path modelDir) {
        return Models.isModelDirectory(modelDir);
    }

    @Override
    public AnnotatorFactory factoryFor(Path modelDir, ReadableConfig options) throws IOException {
        ImageLimits limits = new ImageLimits(options.get(LoupeOptions.FETCH_MAX_BYTES).getBytes(),
                options.get(LoupeOptions.IMAGE_MAX_PIXELS));
        // Converting a checkpoint happens here, once, on the client; tasks then only load the package.
        RuntimeOptions runtime = ModelOptions.runtimeOptions(options);
        return Models.open(modelDir, runtime, limits);
    }
}
