package dev.loupe.model.vlm;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.text.LanguageTokenizer;
import java.util.List;

/**
 * What a vision-language family contributes to {@link PrefixLanguageModelAnnotator}: how a row's image and prompt
 * become the decoder's prefix embeddings, and the tokenizer for prompts, candidates and generated text. Everything
 * else (batching, generation, ranking, failure isolation) is shared. Implementations are thread-safe.
 *
 * @param <P> the family's encoded prompt
 */
public interface VisualPrefixEncoder<P> extends AutoCloseable {

    /**
     * Encodes a prompt; {@code maxNewTokens} tokens will be generated (or scored) after it and must fit too.
     */
    P encodePrompt(String prompt, int maxNewTokens) throws AnnotationException;

    /** The language model input ids of an encoded prompt (what generation continues). */
    int[] inputIds(P prompt);

    /**
     * The decoder prefix of each row, in order: image features and prompt token embeddings (looked up through
     * {@code embeddings}) arranged as the family's model expects. All rows go through the image side as one batch,
     * which runs once per distinct image. With the device-bound runner's image side the image part stays in the
     * device's memory ({@link VisualPrefix#onDevice}); the caller owns the prefixes and closes them.
     */
    List<VisualPrefix> prefixes(List<ImageTensor> images, List<P> prompts, TokenEmbeddings embeddings)
            throws AnnotationException;

    /**
     * As {@link #prefixes}, the image side run wholly on the calling thread where the family can (no intra-op pool:
     * one core at most, at the caller's priority), with the same results; for a thread that fills the cores the
     * language model leaves idle (continuous batching's image side ahead of admission). Here: {@link #prefixes}.
     */
    default List<VisualPrefix> prefixesOnCaller(List<ImageTensor> images, List<P> prompts, TokenEmbeddings embeddings)
            throws AnnotationException {
        return prefixes(images, prompts, embeddings);
    }

    /**
     * Whether {@link #prefixesOnCaller} keeps the image side's runs on the calling thread (else it shares the pool,
     * and a background thread building prefixes would take the pool's threads from the decode steps).
     */
    default boolean buildsOnCaller() {
        return false;
    }

    /** How often the image side ran and reused features (see {@link dev.loupe.model.vision.VisionFeatures}). */
    VisionFeatureStats visionStats();

    /**
     * The image side's host-boundary bytes ({@link HostTrafficStats#imageSide}), where it runs bound to the device;
     * {@link HostTrafficStats#NONE} where it runs through ONNX Runtime's Java API.
     */
    default HostTrafficStats imageSideTraffic() {
        return HostTrafficStats.NONE;
    }

    /** The language model's tokenizer: ranking candidates, generated text, special ids. */
    LanguageTokenizer tokenizer();

    /** Frees the image side and the tokenizer. */
    @Override
    void close();
}
