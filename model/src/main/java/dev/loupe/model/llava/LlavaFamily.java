package dev.loupe.model.llava;

import dev.loupe.model.PackageAnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.image.ClipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.io.IOException;
import java.nio.file.Path;

/** LLaVA packages for {@link PackageAnnotatorFactory}: {@link LlavaAnnotator} with CLIP image preprocessing. */
public enum LlavaFamily implements PackageAnnotatorFactory.Family {
    INSTANCE;

    @Override
    public BatchAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        return LlavaAnnotator.open(packageDir, options);
    }

    /** CLIP preprocessing from the package's preprocessor_config.json. */
    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return ClipImageProcessor.fromCheckpoint(packageDir, decoder);
    }
}
