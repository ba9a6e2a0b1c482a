package dev.loupe.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.nio.file.Path;
import java.util.Set;

/** A family registered through ServiceLoader (test resources) that recognises only its own marker. */
public final class ExtraTestFamily implements ModelFamily {
    private static final long serialVersionUID = 1L;

    public static final String FAMILY = "extra-test";

    @Override
    public String id() {
        return "extra-test";
    }

    @Override
    public String supportedCheckpoints() {
        return "the extra test family (model_type extra-test)";
    }

    @Override
    public Set<String> packageFamilies() {
        return Set.of(FAMILY);
    }

    @Override
    public boolean convertsCheckpoint(JsonNode config) {
        return FAMILY.equals(config.path("model_type").asText());
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision) {
        throw new UnsupportedOperationException("test family");
    }

    @Override
    public BatchAnnotator load(Path packageDir, Manifest manifest, RuntimeOptions options) {
        throw new UnsupportedOperationException("test family");
    }

    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        throw new UnsupportedOperationException("test family");
    }
}
