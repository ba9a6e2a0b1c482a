package dev.loupe.model;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one entry point from a model directory to a runtime: accepts a model package (manifest.json) or a
 * Hugging Face checkpoint directory (config.json), which is converted once into the cache.
 */
public final class Models {
    private Models() {}

    public static AnnotatorFactory open(Path modelDir, RuntimeOptions options) throws IOException {
        if (!Files.isDirectory(modelDir)) {
            throw new IOException("model directory not found: " + modelDir);
        }
        if (Files.isRegularFile(modelDir.resolve(Manifest.FILE_NAME))) {
            Manifest manifest = Manifest.read(modelDir);
            throw new IOException("model family '" + manifest.family() + "' of " + modelDir
                    + " is not supported by this build");
        }
        if (Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IOException("converting Hugging Face checkpoints is not available in this build yet: "
                    + modelDir);
        }
        throw new IOException(modelDir + " is neither a model package (manifest.json) nor a Hugging Face "
                + "checkpoint (config.json)");
    }
}
