package dev.loupe.jobs.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Test-only model family, registered like any extra family (META-INF/services of the test class path): opens a
 * package whose manifest says {@value #FAMILY} ({@link #writePackage}) and runs the echo annotator on it.
 */
public final class EchoModelFamily implements ModelFamily {
    private static final long serialVersionUID = 1L;

    public static final String FAMILY = "echo-test";

    /** Makes {@code dir} an echo model package: a manifest and nothing else. */
    public static void writePackage(Path dir) throws IOException {
        new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, FAMILY, "echo", "fp32", null, Map.of(), Map.of(),
                null, null, null, null, null).write(dir);
    }

    @Override
    public String id() {
        return "echo-test";
    }

    @Override
    public String supportedCheckpoints() {
        return "no checkpoints (the echo test family)";
    }

    @Override
    public Set<String> packageFamilies() {
        return Set.of(FAMILY);
    }

    @Override
    public boolean convertsCheckpoint(JsonNode config) {
        return false;
    }

    @Override
    public Manifest convert(Path checkpointDir, Path packageDir, Precision precision) {
        throw new UnsupportedOperationException("the echo test family converts nothing");
    }

    @Override
    public BatchAnnotator load(Path packageDir, Manifest manifest, RuntimeOptions options) {
        return EchoAnnotatorFactory.fast("echo-runtime").createAnnotator();
    }

    /** The echo annotator's own preprocessing (the real BLIP one, with its small pixel limit). */
    @Override
    public ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) {
        return EchoAnnotatorFactory.fast("echo-runtime").createPreprocessor();
    }
}
