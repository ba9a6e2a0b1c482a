package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.util.List;

/**
 * The runs of a fused LLaMA decoder ({@link FusedLlamaGraphs}) over a {@link SlotCache}, as generation drives them:
 * a prefill writes right-padded prefixes into consecutive free slots, a feed continues slots [0, n) after their own
 * lengths. {@link SharedBufferDecoder} runs them through ONNX Runtime's Java API, {@link DeviceBoundDecoder}'s runs
 * through IoBinding with the cache in the execution provider's memory; {@link SlotState} and {@link ContinuousBatch}
 * are written once over this. One per generation (not thread-safe).
 */
interface SlotDecoder {

    /** A cache for {@code slots} rows of about {@code positions} positions (it grows if they need more). */
    SlotCache newCache(int slots, int positions);

    /**
     * The prefill of {@code prefixes} into slots [first, first + prefixes.size()), right-padded with
     * {@code padEmbedding} to the longest; the outputs are each row's at its last prefix position, valid until the
     * next run.
     */
    LanguageModelRunner.DecoderOutput prefill(SlotCache cache, int first, List<VisualPrefix> prefixes,
                                              float[] padEmbedding, StepOutputs outputs) throws OrtException;

    /**
     * Feeds {@code seq} tokens per slot ({@code tokens} flat [n, seq]) to slots [0, n) after their cached positions;
     * the outputs are [n, seq or 1, ...] (every fed position, or the last only), valid until the next run.
     */
    LanguageModelRunner.DecoderOutput feed(SlotCache cache, int n, long[] tokens, int seq, boolean allPositions,
                                           StepOutputs outputs) throws OrtException;
}
