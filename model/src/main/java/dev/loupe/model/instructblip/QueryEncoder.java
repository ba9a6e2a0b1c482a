package dev.loupe.model.instructblip;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import java.util.List;

/**
 * The InstructBLIP / BLIP-2 image side as {@link InstructBlipPrefixEncoder} uses it: images and Q-Former
 * instructions to the projected query embeddings of each row. {@link ImageEncoder} runs it through ONNX Runtime's Java
 * API; {@link BoundImageSide} through IoBinding, its intermediate kept in the execution provider's memory (with the
 * device-bound decoder runner). Thread-safe.
 */
interface QueryEncoder extends AutoCloseable {

    /** Per row, the language-model inputs [num_query_tokens][llm_hidden] of image i with instruction tokens i. */
    float[][][] encode(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException;

    /** How often the prompt-independent image stage ran and how often its features were reused. */
    VisionFeatureStats visionStats();

    /** The image side's host-boundary bytes ({@link HostTrafficStats#NONE} where nothing is counted). */
    HostTrafficStats traffic();

    @Override
    void close() throws OrtException;
}
