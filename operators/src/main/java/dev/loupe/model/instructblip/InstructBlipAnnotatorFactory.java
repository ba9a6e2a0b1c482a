package dev.loupe.model.instructblip;

import dev.loupe.model.SharedAnnotator;
import dev.loupe.model.SharedRuntimes;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens an InstructBLIP (LLaMA or Flan-T5 language model) or BLIP-2 ({@value dev.loupe.model.blip2.Blip2Package#FAMILY})
 * model package. Serialisable, it carries only the package path and runtime options. Every
 * annotator it creates in one process shares one loaded runtime (one set of ONNX Runtime sessions) per
 * (package, options), through {@link SharedRuntimes}: N Flink subtasks in a TaskManager load the model once.
 */
public final class InstructBlipAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;

    private final String packageDir;
    private final RuntimeOptions options;
    private final ImageLimits imageLimits;
    private final TaskDefaults taskDefaults;

    /** What determines a loaded InstructBLIP runtime. */
    record RuntimeKey(String packageDir, RuntimeOptions options) {}

    public InstructBlipAnnotatorFactory(Path packageDir, RuntimeOptions options, ImageLimits imageLimits,
                                        TaskDefaults taskDefaults) {
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
        return new InstructBlipAnnotatorFactory(Path.of(packageDir), options.withDeviceIndex(deviceIndex), imageLimits,
                taskDefaults);
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

    /** A handle on the process-wide runtime of this package; close it when done (the last close frees it). */
    @Override
    public BatchAnnotator createAnnotator() throws IOException {
        return new SharedAnnotator(SharedRuntimes.acquire(runtimeKey(),
                () -> openRuntime(Path.of(packageDir), options)));
    }

    /** Loads the runtime of the package's family: LLaMA/Vicuna or Flan-T5 language model. */
    static BatchAnnotator openRuntime(Path packageDir, RuntimeOptions options) throws IOException {
        String family = Manifest.read(packageDir).family();
        return InstructBlipPackage.FAMILY_T5.equals(family) ? InstructBlipT5Annotator.open(packageDir, options)
                : InstructBlipAnnotator.open(packageDir, options);
    }

    /** The {@link SharedRuntimes} key of this factory's runtime. */
    public Object runtimeKey() {
        return new RuntimeKey(packageDir, options);
    }

    public Path packageDir() {
        return Path.of(packageDir);
    }

    public RuntimeOptions options() {
        return options;
    }
}
