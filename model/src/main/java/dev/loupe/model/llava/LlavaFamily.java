package dev.loupe.model.llava;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.image.ClipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/** LLaVA-1.5: CLIP vision tower, MLP projector and LLaMA, run on {@link LlavaAnnotator} with CLIP preprocessing. */
public enum LlavaFamily implements ModelFamily {
    INSTANCE;

    @Override
    public String id() {
        return "llava";
    }

    @Override
    public String supportedCheckpoints() {
        return "LLaVA-1.5 (LlavaForConditionalGeneration, CLIP + LLaMA)";
    }

    @Override
    public Set<String> packageFamilies() {
        return Set.of(LlavaPackage.FAMILY);
    }

    /** {@code model_type} "llava". */
    @Override
    public boolean convertsCheckpoint(JsonNode config) {
        return "llava".equals(config.path("model_type").asText());
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision) throws IOException {
        return LlavaConverter.convert(checkpointDir, packageDir, precision);
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision,
                            dev.loupe.model.llm.DecoderGraphKind decoder) throws IOException {
        return LlavaConverter.convert(checkpointDir, packageDir, precision, decoder);
    }

    @Override
    public BatchAnnotator load(Path packageDir, Manifest manifest, RuntimeOptions options) throws IOException {
        return LlavaAnnotator.open(packageDir, manifest, options);
    }

    /** CLIP preprocessing from the package's preprocessor_config.json. */
    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return ClipImageProcessor.fromCheckpoint(packageDir, decoder);
    }
}
