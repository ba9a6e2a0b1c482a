package dev.loupe.model.text;

/**
 * How long prompts may be. The language model's input (image placeholders + prompt ids + the tokens to be
 * generated) must fit its context; the Q-Former's text must fit its position table. Over a limit the
 * request fails with PROMPT_TOO_LONG, except that the Q-Former text may be truncated instead (as LAVIS
 * does with {@code max_txt_len}), keeping [CLS] and [SEP] and cutting on the Q-Former tokenizer's
 * truncation side.
 *
 * @param maxContextTokens  LLM positions available: image tokens + prompt + new tokens must not exceed it
 * @param maxQformerTokens  Q-Former text positions, [CLS] and [SEP] included
 * @param truncateQformer   truncate an over-long Q-Former text instead of rejecting the prompt
 * @param maxPromptChars    prompts longer than this are rejected before tokenizing (cheap guard)
 */
public record PromptLimits(int maxContextTokens, int maxQformerTokens, boolean truncateQformer, int maxPromptChars) {
    public PromptLimits {
        if (maxContextTokens <= 0 || maxQformerTokens < 2 || maxPromptChars <= 0) {
            throw new IllegalArgumentException("invalid prompt limits: " + maxContextTokens + ", " + maxQformerTokens
                    + ", " + maxPromptChars);
        }
    }

    public PromptLimits withTruncateQformer(boolean truncate) {
        return new PromptLimits(maxContextTokens, maxQformerTokens, truncate, maxPromptChars);
    }

    public PromptLimits withMaxContextTokens(int max) {
        return new PromptLimits(max, maxQformerTokens, truncateQformer, maxPromptChars);
    }
}
