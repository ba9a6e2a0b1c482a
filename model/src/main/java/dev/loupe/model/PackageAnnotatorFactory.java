package dev.loupe.model;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a converted model package of one {@link ModelFamily}. Serialisable, it carries only the family, the package
 * path, runtime options, image limits and task defaults (the manifest read when the package was opened is reused in
 * that process, and read again in a process the factory is shipped to). Every annotator it creates in one process
 * shares one loaded runtime (one set of ONNX Runtime sessions) per (family, package, options), through
 * {@link SharedRuntimes}: N Flink subtasks in a TaskManager load the model once.
 */
public final class PackageAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 2L;

    private final ModelFamily family;
    private final String packageDir;
    private final RuntimeOptions options;
    private final ImageLimits imageLimits;
    private final TaskDefaults taskDefaults;
    /** The package's manifest, when this process has read it. */
    private transient volatile Manifest manifest;

    /** What determines a loaded runtime. */
    record RuntimeKey(String family, String packageDir, RuntimeOptions options) {}

    public PackageAnnotatorFactory(ModelFamily family, Path packageDir, RuntimeOptions options, ImageLimits imageLimits,
                                   TaskDefaults taskDefaults) {
        this(family, packageDir, null, options, imageLimits, taskDefaults);
    }

    /** A factory for a package whose manifest has been read, taking its task defaults from it. */
    public PackageAnnotatorFactory(ModelFamily family, Path packageDir, Manifest manifest, RuntimeOptions options,
                                   ImageLimits imageLimits) {
        this(family, packageDir, manifest, options, imageLimits, TaskDefaults.fromJson(manifest.generation()));
    }

    private PackageAnnotatorFactory(ModelFamily family, Path packageDir, Manifest manifest, RuntimeOptions options,
                                    ImageLimits imageLimits, TaskDefaults taskDefaults) {
        this.family = family;
        this.packageDir = packageDir.toAbsolutePath().normalize().toString();
        this.manifest = manifest;
        this.options = options;
        this.imageLimits = imageLimits;
        this.taskDefaults = taskDefaults;
    }

    @Override
    public AnnotatorFactory forDevice(int deviceIndex) {
        if (options.device() != RuntimeOptions.Device.CUDA || options.deviceIndex() == deviceIndex) {
            return this;
        }
        return new PackageAnnotatorFactory(family, Path.of(packageDir), manifest, options.withDeviceIndex(deviceIndex),
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
                    new ImageDecoder(imageLimits.maxEncodedBytes(), imageLimits.maxPixels())
                            .withFastJpegDownscale(imageLimits.fastJpegDownscale()));
        } catch (RuntimeException e) {
            throw new IOException("cannot read the image preprocessing of " + packageDir + ": " + e.getMessage(), e);
        }
    }

    /** A handle on the process-wide runtime of this package; close it when done (the last close frees it). */
    @Override
    public BatchAnnotator createAnnotator() throws IOException {
        return new SharedAnnotator(SharedRuntimes.acquire(runtimeKey(),
                () -> family.load(Path.of(packageDir), manifest(), options)));
    }

    private Manifest manifest() throws IOException {
        Manifest m = manifest;
        if (m == null) {
            m = Manifest.read(Path.of(packageDir));
            manifest = m;
        }
        return m;
    }

    /** The {@link SharedRuntimes} key of this factory's runtime. */
    public Object runtimeKey() {
        return new RuntimeKey(family.id(), packageDir, options);
    }

    public ModelFamily family() {
        return family;
    }

    public Path packageDir() {
        return Path.of(packageDir);
    }

    public RuntimeOptions options() {
        return options;
    }
}
