package dev.loupe.jobs;

import dev.loupe.config.ModelOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Opens a job's {@code --model} through {@link Models} (whose family registry decides what the directory holds), with
 * the job's runtime options and image limits, and says in the command line's words why a model cannot be used.
 */
public final class ModelRuntimes {

    private ModelRuntimes() {}

    /**
     * The factory for the model in {@code modelDir}, configured from the job's {@code options}. A checkpoint is
     * converted here, once, on the client; tasks then only load the package.
     *
     * @throws IllegalArgumentException when {@code modelDir} is null, not a directory, or neither a model package nor a
     *     checkpoint
     * @throws UncheckedIOException when the model cannot be converted or opened
     */
    public static AnnotatorFactory resolve(Path modelDir, ReadableConfig options) {
        if (modelDir == null) {
            throw new IllegalArgumentException("--model is required (option loupe.model): a Loupe model package or a Hugging Face "
                    + "checkpoint directory");
        }
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("--model " + modelDir + " is not a directory");
        }
        if (!Models.isModelDirectory(modelDir)) {
            throw new IllegalArgumentException("no model runtime available for " + modelDir
                    + ": it holds neither a Loupe model package (manifest.json) nor a Hugging Face checkpoint "
                    + "(config.json)");
        }
        try {
            return Models.open(modelDir, ModelOptions.runtimeOptions(options), imageLimits(options));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the model in " + modelDir + ": " + e.getMessage(), e);
        }
    }

    /** How the job decodes its images: its fetch size limit, pixel limit and whether JPEGs may be decoded smaller. */
    public static ImageLimits imageLimits(ReadableConfig options) {
        return new ImageLimits(options.get(LoupeOptions.FETCH_MAX_BYTES).getBytes(),
                options.get(LoupeOptions.IMAGE_MAX_PIXELS), options.get(ModelOptions.FAST_JPEG_DOWNSCALE));
    }
}
