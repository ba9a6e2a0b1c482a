package dev.loupe.model.instructblip;

import dev.loupe.model.PackageAnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.io.IOException;
import java.nio.file.Path;

/**
 * InstructBLIP and BLIP-2 packages ({@link InstructBlipPackage#FAMILIES}) for {@link PackageAnnotatorFactory}, with
 * BLIP image preprocessing, run on {@link InstructBlipAnnotator} whatever their language model.
 */
public enum InstructBlipFamily implements PackageAnnotatorFactory.Family {
    INSTANCE;

    @Override
    public BatchAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        return InstructBlipAnnotator.open(packageDir, options);
    }

    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return BlipImageProcessor.fromCheckpoint(packageDir, decoder);
    }
}
