package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;

/**
 * A decoder-only {@link StepDecoder} whose rows can join and leave at step boundaries ({@link ContinuousBatch}):
 * {@link PrefixStepDecoder} over ONNX Runtime's Java API, {@link DeviceBoundDecoder} over IoBinding.
 */
public interface ContinuousDecoder extends StepDecoder {

    /** The token whose embedding pads shorter prefixes. */
    long padTokenId();

    /** A new, empty batch over this decoder (the caller closes it). */
    default <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits) throws OrtException {
        return continuousBatch(eos, keepFirstLogits, new GenerationClock());
    }

    /** As {@link #continuousBatch(int[], boolean)}, timing its prefills and steps on {@code clock}. */
    <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits, GenerationClock clock)
            throws OrtException;
}
