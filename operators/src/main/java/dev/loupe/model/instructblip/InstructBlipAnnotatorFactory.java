package dev.loupe.model.instructblip;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.io.IOException;
import java.nio.file.Path;

/** Opens an InstructBLIP model package; serialisable, it carries only the package path and runtime options. */
public final class InstructBlipAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;

    private final String packageDir;
    private final RuntimeOptions options;
    private final ImageLimits imageLimits;
    private final TaskDefaults taskDefaults;

    public InstructBlipAnnotatorFactory(Path packageDir, RuntimeOptions options, ImageLimits imageLimits,
                                        TaskDefaults taskDefaults) {
        this.packageDir = packageDir.toAbsolutePath().toString();
        this.options = options;
        this.imageLimits = imageLimits;
        this.taskDefaults = taskDefaults;
    }

    @Override
    public TaskDefaults taskDefaults() {
        return taskDefaults;
    }

    @Override
    public ImagePreprocessor createPreprocessor() throws IOException {
        try {
            return BlipImageProcessor.fromCheckpoint(Path.of(packageDir),
                    new ImageDecoder(imageLimits.maxEncodedBytes(), imageLimits.maxPixels()));
        } catch (RuntimeException e) {
            throw new IOException("cannot read the image preprocessing of " + packageDir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public BatchAnnotator createAnnotator() throws IOException {
        return InstructBlipAnnotator.open(Path.of(packageDir), options);
    }

    public Path packageDir() {
        return Path.of(packageDir);
    }
}
