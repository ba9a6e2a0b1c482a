package dev.loupe.flink.testing;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import java.nio.file.Path;

/**
 * Test-only factory pairing the real {@link BlipImageProcessor} (configured from a checkpoint folder, with decode
 * limits) with the deterministic {@link TestAnnotator}: exercises real image decoding without a model.
 */
public final class BlipTestAnnotatorFactory implements AnnotatorFactory {
    private static final long serialVersionUID = 1L;
    private final String checkpointDir;
    private final long maxEncodedBytes;
    private final long maxPixels;

    public BlipTestAnnotatorFactory(Path checkpointDir, long maxEncodedBytes, long maxPixels) {
        this.checkpointDir = checkpointDir.toString();
        this.maxEncodedBytes = maxEncodedBytes;
        this.maxPixels = maxPixels;
    }

    /** The InstructBLIP fixture checkpoint under the {@code loupe.fixtures} folder. */
    public static Path fixtureCheckpoint() {
        return Path.of(System.getProperty("loupe.fixtures", "fixtures"), "hf-reference", "instructblip-vicuna",
                "checkpoint");
    }

    @Override
    public ImagePreprocessor createPreprocessor() {
        return BlipImageProcessor.fromCheckpoint(Path.of(checkpointDir), new ImageDecoder(maxEncodedBytes, maxPixels));
    }

    @Override
    public BatchAnnotator createAnnotator() {
        return new TestAnnotator();
    }
}
