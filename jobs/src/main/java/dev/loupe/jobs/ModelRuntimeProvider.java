package dev.loupe.jobs;

import dev.loupe.model.api.AnnotatorFactory;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.flink.configuration.ReadableConfig;

/**
 * A model family's way in to the jobs: given a model directory (a Loupe model package or a Hugging Face
 * checkpoint directory) it says whether it can run it and makes the {@link AnnotatorFactory}. Implementations
 * register in {@code META-INF/services/dev.loupe.jobs.ModelRuntimeProvider}; {@link ModelRuntimes} picks one.
 */
public interface ModelRuntimeProvider {

    /** Short name for messages, e.g. {@code instructblip}. */
    String name();

    /** Whether this runtime can load the model in {@code modelDir} (cheap: reads manifests, not weights). */
    boolean accepts(Path modelDir);

    /**
     * A factory for the model in {@code modelDir}; it loads weights only inside each task. {@code options} holds
     * the job's options, e.g. {@code LoupeOptions.IMAGE_MAX_PIXELS} and {@code FETCH_MAX_BYTES} for the
     * preprocessor's decode limits.
     */
    AnnotatorFactory factoryFor(Path modelDir, ReadableConfig options) throws IOException;
}
