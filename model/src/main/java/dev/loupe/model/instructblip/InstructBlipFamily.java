package dev.loupe.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The Q-Former models: InstructBLIP (Vicuna/LLaMA or Flan-T5) and BLIP-2 (OPT or Flan-T5). One family, because they
 * share the BLIP vision tower, the Q-Former, BLIP image preprocessing and {@link InstructBlipAnnotator}; the variant
 * (which {@link InstructBlipPackage#FAMILIES} name a package gets) follows from the checkpoint's model and language
 * model types.
 */
public enum InstructBlipFamily implements ModelFamily {
    INSTANCE;

    @Override
    public String id() {
        return "instructblip";
    }

    @Override
    public String supportedCheckpoints() {
        return "InstructBLIP with a Vicuna/LLaMA or Flan-T5 language model; BLIP-2 with OPT or Flan-T5";
    }

    @Override
    public Set<String> packageFamilies() {
        return InstructBlipPackage.FAMILIES;
    }

    /** {@code model_type} "instructblip" or "blip-2"; the language model is checked on conversion. */
    @Override
    public boolean convertsCheckpoint(JsonNode config) {
        String type = config.path("model_type").asText();
        return "instructblip".equals(type) || InstructBlipConfig.BLIP2_MODEL_TYPE.equals(type);
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision) throws IOException {
        return InstructBlipConverter.convert(checkpointDir, packageDir, precision);
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision,
                            dev.loupe.model.llm.DecoderGraphKind decoder) throws IOException {
        return InstructBlipConverter.convert(checkpointDir, packageDir, precision, decoder);
    }

    @Override
    public BatchAnnotator load(Path packageDir, Manifest manifest, RuntimeOptions options) throws IOException {
        return InstructBlipAnnotator.open(packageDir, manifest, options);
    }

    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return BlipImageProcessor.fromCheckpoint(packageDir, decoder);
    }
}
