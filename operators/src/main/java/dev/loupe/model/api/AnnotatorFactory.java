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

    /** The model's decoding defaults per task, which requests override field by field. Cheap: no weights. */
    default TaskDefaults taskDefaults() {
        return TaskDefaults.fallback();
    }
}
