package dev.loupe.model.llm;

import dev.loupe.model.api.GenerationConfig;
import java.util.SplittableRandom;

/**
 * One row's next token in one-beam decoding, as {@code GenerationMixin._sample} picks it: the raw logits go through
 * the repetition penalty (over the context ids and the ids generated so far), end-of-sequence suppression below
 * min_new_tokens and, when sampling, temperature, top-k and top-p; then the argmax (the first index of the largest
 * score, as torch.argmax) or a draw from softmax with the row's own random stream. Shared by the static loop
 * ({@link SamplingGenerator}) and the continuous one ({@link ContinuousBatch}), so a row picks the same tokens in
 * both. Holds a scratch array: one instance per loop, not thread-safe.
 */
final class TokenPicker {
    private final float[] scores;

    TokenPicker(int vocabSize) {
        this.scores = new float[vocabSize];
    }

    /**
     * @param raw       the row's unmodified logits (left unchanged)
     * @param context   the ids the repetition penalty sees besides the generated ones
     * @param generated the ids generated so far, the first {@code count} of them valid
     * @param random    the row's random stream (drawn from only when sampling)
     * @return the next token id
     */
    int pick(float[] raw, int[] context, int[] generated, int count, GenerationConfig config, int[] eos,
             SplittableRandom random) {
        System.arraycopy(raw, 0, scores, 0, raw.length);
        LogitsProcessors.repetitionPenalty(scores, context, generated, count, config.repetitionPenalty());
        if (count < config.minNewTokens()) {
            LogitsProcessors.suppress(scores, eos);
        }
        if (config.doSample()) {
            LogitsProcessors.temperature(scores, config.temperature());
            LogitsProcessors.topK(scores, config.topK());
            LogitsProcessors.topP(scores, config.topP());
            return TokenSampler.sample(scores, random);
        }
        return LogitsProcessors.argmax(scores);
    }
}
