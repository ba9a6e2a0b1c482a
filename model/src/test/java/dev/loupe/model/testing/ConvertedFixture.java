package dev.loupe.model.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.onnx.Precision;
import java.io.IOException;
import org.junit.jupiter.api.TestInfo;
import java.nio.file.Path;

/**
 * A reference fixture's checkpoint converted into a package and opened the way a user opens it ({@link Models}, one
 * intra-op thread), with its preprocessing and reference outputs: the set-up every end-to-end parity test shares.
 */
public final class ConvertedFixture {
    public final HfFixture fixture;
    public final Path packageDir;
    public final AnnotatorFactory factory;
    public final ImagePreprocessor preprocessor;
    public final JsonNode reference;

    private ConvertedFixture(HfFixture fixture, Path packageDir, AnnotatorFactory factory,
                             ImagePreprocessor preprocessor, JsonNode reference) {
        this.fixture = fixture;
        this.packageDir = packageDir;
        this.factory = factory;
        this.preprocessor = preprocessor;
        this.reference = reference;
    }

    /** Converts {@code fixture}'s checkpoint into {@code packageDir} (which must not hold a package yet) and opens it. */
    public static ConvertedFixture convert(HfFixture fixture, Path packageDir) throws IOException {
        return convert(fixture, packageDir, DecoderGraphKind.FUSED);
    }

    /**
     * As {@link #convert(HfFixture, Path)}, with the decoder graph {@code testInfo}'s class asks for: the plain one
     * for a {@link PlainDecoderVariant} (a parity test run again on the plain graph), the default otherwise.
     */
    public static ConvertedFixture convert(HfFixture fixture, Path packageDir, TestInfo testInfo) throws IOException {
        return convert(fixture, packageDir, decoderFor(testInfo), runnerFor(testInfo));
    }

    /** The decoder runner a test class runs with: device-bound for a {@link DeviceBoundVariant}, else the Java API. */
    public static RuntimeOptions.Runner runnerFor(TestInfo testInfo) {
        return testInfo.getTestClass().filter(DeviceBoundVariant.class::isAssignableFrom).isPresent()
                ? RuntimeOptions.Runner.DEVICE_BOUND : RuntimeOptions.Runner.ORT_JAVA;
    }

    /** The decoder graph a test class runs on ({@link PlainDecoderVariant}). */
    public static DecoderGraphKind decoderFor(TestInfo testInfo) {
        return testInfo.getTestClass().filter(PlainDecoderVariant.class::isAssignableFrom).isPresent()
                ? DecoderGraphKind.PLAIN : DecoderGraphKind.FUSED;
    }

    /** Converts with the given LLaMA decoder graph and opens the package. */
    public static ConvertedFixture convert(HfFixture fixture, Path packageDir, DecoderGraphKind decoder)
            throws IOException {
        return convert(fixture, packageDir, decoder, RuntimeOptions.Runner.ORT_JAVA);
    }

    /**
     * Converts with the given LLaMA decoder graph and opens the package with the given decoder runner; the
     * device-bound runner on the device {@link TestDevice} names (CPU unless a GPU run asks for CUDA).
     */
    public static ConvertedFixture convert(HfFixture fixture, Path packageDir, DecoderGraphKind decoder,
                                           RuntimeOptions.Runner runner) throws IOException {
        Models.convert(fixture.checkpoint(), packageDir, Precision.FP32, decoder);
        RuntimeOptions options = RuntimeOptions.defaults().withThreads(1).withRunner(runner);
        if (runner == RuntimeOptions.Runner.DEVICE_BOUND) {
            options = TestDevice.apply(options);
        }
        AnnotatorFactory factory = Models.open(packageDir, options);
        return new ConvertedFixture(fixture, packageDir, factory, factory.createPreprocessor(), fixture.reference());
    }

    /** A new annotator over the package (the caller closes it). */
    public BatchAnnotator openAnnotator() throws IOException {
        return factory.createAnnotator();
    }
}
