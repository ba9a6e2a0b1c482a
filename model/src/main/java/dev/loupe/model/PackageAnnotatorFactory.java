package dev.loupe.model;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.image.ImageDecoder;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Opens a converted model package of one {@link Family}. Serialisable, it carries only the family, the package path,
 * runtime options, image limits and task defaults. Every annotator it creates in one process shares one loaded
 * runtime (one set of ONNX Runtime sessions) per (family, package, options), through {@link SharedRuntimes}: N Flink
 * subtasks in a TaskManager load the model once.
 */
public final class PackageAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;

    /** How a model family loads its runtime and image preprocessing from a package; serialisable (an enum). */
    public interface Family extends Serializable {
        /** Loads the family's annotator from a converted package. */
        BatchAnnotator open(Path packageDir, RuntimeOptions options) throws IOException;

        /** The family's image preprocessing, as the package's preprocessor config says. */
        ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder);
    }

    private final Family family;
    private final String packageDir;
    private final RuntimeOptions options;
    private final ImageLimits imageLimits;
    private final TaskDefaults taskDefaults;

    /** What determines a loaded runtime. */
    record RuntimeKey(Family family, String packageDir, RuntimeOptions options) {}

    public PackageAnnotatorFactory(Family family, Path packageDir, RuntimeOptions options, ImageLimits imageLimits,
                                   TaskDefaults taskDefaults) {
        this.family = family;
        this.packageDir = packageDir.toAbsolutePath().normalize().toString();
        this.options = options;
        this.imageLimits = imageLimits;
        this.taskDefaults = taskDefaults;
    }

    @Override
    public AnnotatorFactory forDevice(int deviceIndex) {
        if (options.device() != RuntimeOptions.Device.CUDA || options.deviceIndex() == deviceIndex) {
            return this;
        }
        return new PackageAnnotatorFactory(family, Path.of(packageDir), options.withDeviceIndex(deviceIndex),
                imageLimits, taskDefaults);
    }

    @Override
    public TaskDefaults taskDefaults() {
        return taskDefaults;
    }

    @Override
    public ImagePreprocessor createPreprocessor() throws IOException {
        try {
            return family.preprocessor(Path.of(packageDir),
                    new ImageDecoder(imageLimits.maxEncodedBytes(), imageLimits.maxPixels()));
        } catch (RuntimeException e) {
            throw new IOException("cannot read the image preprocessing of " + packageDir + ": " + e.getMessage(), e);
        }
    }

    /** A handle on the process-wide runtime of this package; close it when done (the last close frees it). */
    @Override
    public BatchAnnotator createAnnotator() throws IOException {
        return new SharedAnnotator(SharedRuntimes.acquire(runtimeKey(),
                () -> family.open(Path.of(packageDir), options)));
    }

    /** The {@link SharedRuntimes} key of this factory's runtime. */
    public Object runtimeKey() {
        return new RuntimeKey(family, packageDir, options);
    }

    public Family family() {
        return family;
    }

    public Path packageDir() {
        return Path.of(packageDir);
    }

    public RuntimeOptions options() {
        return options;
    }
}
