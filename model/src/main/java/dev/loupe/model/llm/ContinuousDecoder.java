package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;

/**
 * A {@link StepDecoder} whose rows can join and leave at step boundaries ({@link ContinuousBatch}): decoder-only
 * {@link PrefixStepDecoder} over ONNX Runtime's Java API and {@link DeviceBoundDecoder} over IoBinding, and the T5
 * encoder-decoder {@link dev.loupe.model.t5.T5StepDecoder}.
 */
public interface ContinuousDecoder extends StepDecoder {

    /** The token whose embedding pads shorter prefixes (a T5 decoder's: the token a left row's slot is fed). */
    long padTokenId();

    /**
     * Whether this decoder's graphs allow {@link #continuousBatch} (a T5 package written before its decoder took a
     * self-attention mask does not: its rows batch statically).
     */
    default boolean batchesContinuously() {
        return true;
    }

    /** A new, empty batch over this decoder (the caller closes it). */
    default <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits) throws OrtException {
        return continuousBatch(eos, keepFirstLogits, new GenerationClock());
    }

    /** As {@link #continuousBatch(int[], boolean)}, timing its prefills and steps on {@code clock}. */
    <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits, GenerationClock clock)
            throws OrtException;
}
