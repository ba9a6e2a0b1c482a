package dev.loupe.model.llava;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayList;
import java.util.List;

/**
 * LLaVA's image side as {@link LlavaPrefixEncoder} uses it: images to their projected CLIP features, which take the
 * place of the prompt's {@code <image>} tokens. {@link LlavaImageEncoder} runs the image graph through ONNX Runtime's
 * Java API (the features come back as host rows); {@link BoundLlavaImageSide} runs it through IoBinding and leaves
 * them in the execution provider's memory (with the device-bound decoder runner). Thread-safe.
 */
public interface LlavaImageSide extends AutoCloseable {

    /** Per image, its projected features [image_seq_length][llm_hidden] in Java memory. */
    float[][][] encode(List<ImageTensor> images) throws AnnotationException;

    /**
     * Per row, the decoder prefix: the prompt's embeddings before its {@code <image>} tokens ({@code before[i]}),
     * image i's features in their place, then the prompt's embeddings after them ({@code after[i]}). Here the
     * features are host rows; {@link BoundLlavaImageSide} leaves them in the device's memory. The caller owns the
     * prefixes.
     */
    default List<VisualPrefix> prefixes(List<ImageTensor> images, float[][][] before, float[][][] after)
            throws AnnotationException {
        float[][][] features = encode(images);
        List<VisualPrefix> prefixes = new ArrayList<>(features.length);
        for (int k = 0; k < features.length; k++) {
            float[][] prefix = new float[before[k].length + features[k].length + after[k].length][];
            System.arraycopy(before[k], 0, prefix, 0, before[k].length);
            System.arraycopy(features[k], 0, prefix, before[k].length, features[k].length);
            System.arraycopy(after[k], 0, prefix, before[k].length + features[k].length, after[k].length);
            prefixes.add(VisualPrefix.onHost(prefix));
        }
        return prefixes;
    }

    /** How often the image graph ran and how often its features were reused. */
    VisionFeatureStats visionStats();

    /** The image side's host-boundary bytes ({@link HostTrafficStats#NONE} where nothing is counted). */
    HostTrafficStats traffic();

    @Override
    void close() throws OrtException;
}
