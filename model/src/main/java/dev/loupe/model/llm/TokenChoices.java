package dev.loupe.model.llm;

import dev.loupe.model.api.GenerationConfig;

/**
 * Which rows can pick their next token from their top choices ({@link TokenChoiceHead}) instead of the whole
 * distribution, and how many choices they need, so that they pick exactly what the full-logits path picks:
 * <ul>
 *   <li>greedy: the argmax is the first choice; below min_new_tokens, where the end-of-sequence ids are
 *       suppressed, the first choice that is not one of them, so 1 + #eos choices;</li>
 *   <li>beam search without sampling: a beam's candidates among the best {@code max(2, 1 + #eos) * numBeams}
 *       (beam, token) pairs are among its own best that many tokens (every beam adds one running score to all its
 *       tokens), plus #eos more for the suppressed ones;</li>
 *   <li>not served: a repetition penalty other than 1 (it moves penalised tokens in or out of the top, by the sign
 *       of their raw logits), and sampling (the draw needs the whole, warped distribution), so they take the
 *       logits.</li>
 * </ul>
 * The choice depends on a row's own settings only, so a row's tokens and log-probs never depend on its batch mates.
 */
final class TokenChoices {
    private TokenChoices() {}

    /**
     * How many choices a row with {@code config} needs; 0 when it needs the logits (also when it would need more than
     * the vocabulary: the first beam-search step then ranks tied scores of the not-yet-running beams by token id).
     */
    static int needed(GenerationConfig config, int eosCount, int vocab) {
        if (config.doSample() || config.repetitionPenalty() != 1.0) {
            return 0;
        }
        int suppressed = config.minNewTokens() > 0 ? eosCount : 0;
        int needed = config.numBeams() > 1
                ? BeamSearchScorer.candidates(config.numBeams(), eosCount) + suppressed
                : 1 + suppressed;
        return needed <= vocab ? needed : 0;
    }

    /** The outputs a run needs when its rows need {@code choices} (0: logits) and some rows need the logits. */
    static StepOutputs outputs(boolean logits, int choices) {
        return new StepOutputs(logits || choices == 0, choices);
    }

    /**
     * Greedy decoding's pick among a row's choices (best first), as {@link TokenPicker} picks from the logits:
     * the first choice, or below min_new_tokens the first that is not an end-of-sequence id.
     *
     * @return the index into the choices
     */
    static int greedy(int[] ids, int choices, int count, GenerationConfig config, int[] eos) {
        if (count >= config.minNewTokens()) {
            return 0;
        }
        for (int j = 0; j < choices; j++) {
            if (!LogitsProcessors.contains(eos, ids[j])) {
                return j;
            }
        }
        throw new IllegalStateException(choices + " token choices hold end-of-sequence ids only");
    }
}
