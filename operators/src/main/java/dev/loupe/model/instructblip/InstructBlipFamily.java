package dev.loupe.model.instructblip;

import dev.loupe.model.PackageAnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * InstructBLIP and BLIP-2 ({@value dev.loupe.model.blip2.Blip2Package#FAMILY}) packages for
 * {@link PackageAnnotatorFactory}, with BLIP image preprocessing: decoder-only language models run on
 * {@link InstructBlipAnnotator}, Flan-T5 ({@value InstructBlipPackage#FAMILY_T5}) on {@link InstructBlipT5Annotator}.
 */
public enum InstructBlipFamily implements PackageAnnotatorFactory.Family {
    INSTANCE;

    @Override
    public BatchAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        String family = Manifest.read(packageDir).family();
        return InstructBlipPackage.FAMILY_T5.equals(family) ? InstructBlipT5Annotator.open(packageDir, options)
                : InstructBlipAnnotator.open(packageDir, options);
    }

    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return BlipImageProcessor.fromCheckpoint(packageDir, decoder);
    }
}
