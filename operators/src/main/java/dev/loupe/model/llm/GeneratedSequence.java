package dev.loupe.model.llm;

/**
 * One row's greedy continuation.
 *
 * @param tokenIds        generated ids only, including the final end-of-sequence id when one was generated
 * @param sumLogProb      sum of the chosen tokens' log-probabilities (log_softmax of the raw float32 logits)
 * @param score           {@code sumLogProb / tokenIds.length}: Hugging Face's beam score with length_penalty 1
 * @param stepLogProbs    the chosen token's log-probability at each step
 * @param firstStepLogits the full logits vector of the first generated position, or null when not requested
 */
public record GeneratedSequence(int[] tokenIds, double sumLogProb, double score, float[] stepLogProbs,
                                float[] firstStepLogits) {}
