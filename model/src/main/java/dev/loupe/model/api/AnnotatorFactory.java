package dev.loupe.model.api;

import java.io.IOException;
import java.io.Serializable;

/**
 * Creates the model runtime inside a Flink task (or a command-line process): shipped to workers serialised, so
 * it holds only a location and options, never loaded weights.
 */
public interface AnnotatorFactory extends Serializable {

    ImagePreprocessor createPreprocessor() throws IOException;

    BatchAnnotator createAnnotator() throws IOException;

    /**
     * This factory bound to GPU {@code deviceIndex} (as the host numbers them), for runtimes that run on one; the
     * Flink operator calls it with the GPU its TaskManager assigned. CPU runtimes ignore it.
     */
    default AnnotatorFactory forDevice(int deviceIndex) {
        return this;
    }

    /** The model's decoding defaults per task, which requests override field by field. Cheap: no weights. */
    default TaskDefaults taskDefaults() {
        return TaskDefaults.fallback();
    }
}
