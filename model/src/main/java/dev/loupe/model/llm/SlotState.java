package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;

/**
 * Rows decoding over a {@link SlotCache}: slot i is row i; a step reorders the slots only when rows are dropped or
 * repeated (copying those rows' cached positions) and otherwise feeds the cache as it is, in place.
 */
final class SlotState extends OutputState {
    private final SlotDecoder decoder;
    private SlotCache cache;

    SlotState(SlotDecoder decoder, SlotCache cache, LanguageModelRunner.DecoderOutput out) {
        super(out);   // a slot run returns no KvCache: the state's cache is the SlotCache below
        this.decoder = decoder;
        this.cache = cache;
    }

    /** The prefill of {@code inputs} into a new cache of the decoder, with room for a few new positions. */
    static SlotState start(SlotDecoder decoder, java.util.List<VisualPrefix> inputs, float[] padEmbedding,
                           StepOutputs outputs) throws OrtException {
        return start(decoder, inputs, padEmbedding, outputs, INITIAL_NEW_POSITIONS);
    }

    /**
     * As {@link #start(SlotDecoder, java.util.List, float[], StepOutputs)} for a generation of at most
     * {@code newTokens} tokens per row: the cache's room beyond the prompt is {@link #INITIAL_NEW_POSITIONS} or,
     * where fewer tokens can come, that many. The cache is the largest buffer of a batch's generation (at batch 16
     * of the benchmark model, 384 KiB per position), so room that no token can fill is resident memory for nothing.
     */
    static SlotState start(SlotDecoder decoder, java.util.List<VisualPrefix> inputs, float[] padEmbedding,
                           StepOutputs outputs, int newTokens) throws OrtException {
        int longest = inputs.stream().mapToInt(VisualPrefix::length).max().orElseThrow();
        SlotCache cache = decoder.newCache(inputs.size(), longest + newPositions(newTokens));
        try {
            return new SlotState(decoder, cache, decoder.prefill(cache, 0, inputs, padEmbedding, outputs));
        } catch (OrtException | RuntimeException e) {
            cache.close();
            throw e;
        }
    }

    /** Positions a slot cache holds beyond the prompt before it first grows. */
    static final int INITIAL_NEW_POSITIONS = 32;

    /** The room beyond the prompt for a generation of at most {@code newTokens} tokens (at least 1). */
    static int newPositions(int newTokens) {
        return Math.max(1, Math.min(INITIAL_NEW_POSITIONS, newTokens));
    }

    @Override
    public DecodingState next(int[] from, long[] tokens, int seq, StepOutputs outputs) throws OrtException {
        if (cache == null) {
            throw new IllegalStateException("decoding state already used");
        }
        SlotCache taken = cache;
        cache = null;
        try {
            if (!DecodingState.isIdentity(from, rows())) {
                taken.select(from);
            }
            return new SlotState(decoder, taken, decoder.feed(taken, from.length, tokens, seq, seq > 1, outputs));
        } catch (OrtException | RuntimeException e) {
            taken.close();
            throw e;
        }
    }

    @Override
    public void close() {
        super.close();
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }
}
