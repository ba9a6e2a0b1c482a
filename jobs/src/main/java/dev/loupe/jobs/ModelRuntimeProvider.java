package dev.loupe.jobs;

import dev.loupe.model.api.AnnotatorFactory;
import java.io.IOException;
import java.nio.file.Path;

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

    /** A factory for the model in {@code modelDir}; it loads weights only inside each task. */
    AnnotatorFactory factoryFor(Path modelDir) throws IOException;
}
