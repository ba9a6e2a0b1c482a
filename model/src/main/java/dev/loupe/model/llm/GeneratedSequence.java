package dev.loupe.model.llm;

/**
 * One generated continuation (greedy, sampled, or a beam-search hypothesis).
 *
 * @param tokenIds        generated ids only, including the final end-of-sequence id when one was generated
 * @param sumLogProb      sum of the per-step log-probabilities in {@code stepLogProbs}
 * @param score           Hugging Face's sequence score: for beam search {@code sumLogProb / length ** length_penalty}
 *                        over the processed log-probs (as {@code sequences_scores}); otherwise
 *                        {@code sumLogProb / length} over the unmodified distribution
 * @param stepLogProbs    the chosen token's log-probability at each step (beam search: after the logits
 *                        processors, as transformers accumulates them; otherwise log_softmax of the raw logits)
 * @param firstStepLogits the full logits vector of the first generated position, or null when not requested
 */
public record GeneratedSequence(int[] tokenIds, double sumLogProb, double score, float[] stepLogProbs,
                                float[] firstStepLogits) {}
