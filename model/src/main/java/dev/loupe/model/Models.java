package dev.loupe.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.CheckpointHash;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The plain-Java entry point from a model directory to annotations, so that callers never need to know which family a
 * model is: accepts a model package (manifest.json) or a Hugging Face checkpoint directory (config.json), which is
 * converted once into the cache ({@link RuntimeOptions#cacheDir()}, keyed by the checkpoint's fingerprint; concurrent
 * processes wait on a file lock rather than converting twice). Which family does the work is
 * {@link ModelFamilies}' answer.
 *
 * <pre>{@code
 * AnnotatorFactory model = Models.open(dir, RuntimeOptions.defaults());
 * ImagePreprocessor preprocessor = model.createPreprocessor();
 * try (BatchAnnotator annotator = model.createAnnotator()) {
 *     List<AnnotationOutcome> out = annotator.annotate(List.of(new AnnotationInput("1",
 *             preprocessor.preprocess(imageBytes), Prompts.CAPTION_TEMPLATE, Task.CAPTION, List.of(), null)));
 * }
 * }</pre>
 */
public final class Models {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Models() {}

    public static AnnotatorFactory open(Path modelDir, RuntimeOptions options) throws IOException {
        return open(modelDir, options, ImageLimits.DEFAULT);
    }

    public static AnnotatorFactory open(Path modelDir, RuntimeOptions options, ImageLimits limits)
            throws IOException {
        return factoryFor(resolvePackage(modelDir, options), options, limits);
    }

    /** Whether {@code dir} looks like something {@link #open} accepts (cheap: no weights are read). */
    public static boolean isModelDirectory(Path dir) {
        return Files.isRegularFile(dir.resolve(Manifest.FILE_NAME)) || Files.isRegularFile(dir.resolve("config.json"));
    }

    /** The package directory for a model directory, converting a checkpoint into the cache if needed. */
    public static Path resolvePackage(Path modelDir, RuntimeOptions options) throws IOException {
        if (!Files.isDirectory(modelDir)) {
            throw new IOException("model directory not found: " + modelDir);
        }
        if (Files.isRegularFile(modelDir.resolve(Manifest.FILE_NAME))) {
            return modelDir;
        }
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IOException(modelDir + " is neither a model package (manifest.json) nor a Hugging Face "
                    + "checkpoint (config.json)");
        }
        return convertCached(modelDir, options.cachePath());
    }

    /** Converts a checkpoint into a package directory (the {@code loupe convert} operation). */
    public static Manifest convert(Path checkpointDir, Path packageDir) throws IOException {
        return convert(checkpointDir, packageDir, Precision.FP32);
    }

    /**
     * Converts with weights stored as float32 or float16 (fp16 halves the package; computation stays float32,
     * see {@link dev.loupe.model.onnx.OnnxModelWriter}).
     */
    public static Manifest convert(Path checkpointDir, Path packageDir, Precision precision) throws IOException {
        return convert(checkpointDir, packageDir, precision, dev.loupe.model.llm.DecoderGraphKind.FUSED);
    }

    /** Converts with the given kind of LLaMA decoder graph ({@link dev.loupe.model.llm.DecoderGraphKind}). */
    public static Manifest convert(Path checkpointDir, Path packageDir, Precision precision,
                                   dev.loupe.model.llm.DecoderGraphKind decoder) throws IOException {
        Path configFile = checkpointDir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new IOException(checkpointDir + " is not a Hugging Face checkpoint: no config.json");
        }
        JsonNode config;
        try {
            config = JSON.readTree(configFile.toFile());
        } catch (IOException e) {
            throw new IOException(configFile + " is not valid JSON: " + e.getMessage(), e);
        }
        return ModelFamilies.forCheckpoint(checkpointDir, config).convert(checkpointDir, packageDir, precision,
                decoder);
    }

    private static Path convertCached(Path checkpointDir, Path cacheDir) throws IOException {
        Path target = cacheDir.resolve("packages").resolve(CheckpointHash.fingerprint(checkpointDir));
        if (Files.isRegularFile(target.resolve(Manifest.FILE_NAME))) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path lockFile = target.resolveSibling(target.getFileName() + ".lock");
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            if (!Files.isRegularFile(target.resolve(Manifest.FILE_NAME))) {
                convert(checkpointDir, target);
            }
        }
        return target;
    }

    private static AnnotatorFactory factoryFor(Path packageDir, RuntimeOptions options, ImageLimits limits)
            throws IOException {
        Manifest manifest = Manifest.read(packageDir);
        ModelFamily family = ModelFamilies.forPackage(packageDir, manifest);
        return new PackageAnnotatorFactory(family, packageDir, manifest, options, limits);
    }
}
