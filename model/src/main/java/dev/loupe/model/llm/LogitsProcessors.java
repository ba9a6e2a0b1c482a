package dev.loupe.model.llm;

import java.util.Arrays;

/**
 * Hugging Face's logits processors and warpers over one row of scores, modifying the array in place:
 * {@code RepetitionPenaltyLogitsProcessor}, the end-of-sequence suppression of {@code MinNewTokensLengthLogitsProcessor},
 * and the sampling warpers {@code TemperatureLogitsWarper}, {@code TopKLogitsWarper}, {@code TopPLogitsWarper}
 * (applied in that order by {@code generate}). Arithmetic is float32, as torch does it.
 */
public final class LogitsProcessors {
    private LogitsProcessors() {}

    /**
     * Penalises every id occurring in {@code contextIds} or {@code generatedIds} (each once, however often it
     * occurs): a negative score is multiplied by the penalty, a positive one divided by it.
     */
    public static void repetitionPenalty(float[] scores, int[] contextIds, int[] generatedIds, int generatedCount,
                                         double penalty) {
        if (penalty == 1.0) {
            return;
        }
        boolean[] seen = new boolean[scores.length];
        float p = (float) penalty;
        for (int id : contextIds) {
            penaliseOnce(scores, seen, id, p);
        }
        for (int i = 0; i < generatedCount; i++) {
            penaliseOnce(scores, seen, generatedIds[i], p);
        }
    }

    private static void penaliseOnce(float[] scores, boolean[] seen, int id, float p) {
        if (id < 0 || id >= scores.length) {
            throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + scores.length);
        }
        if (!seen[id]) {
            seen[id] = true;
            float s = scores[id];
            scores[id] = s < 0 ? s * p : s / p;
        }
    }

    /** Sets the given ids to -inf (min_new_tokens suppressing end-of-sequence ids). */
    public static void suppress(float[] scores, int[] ids) {
        for (int id : ids) {
            scores[id] = Float.NEGATIVE_INFINITY;
        }
    }

    /** Divides every score by the temperature. */
    public static void temperature(float[] scores, double temperature) {
        if (temperature == 1.0) {
            return;
        }
        float t = (float) temperature;
        for (int i = 0; i < scores.length; i++) {
            scores[i] = scores[i] / t;
        }
    }

    /** Keeps the {@code k} highest scores (and any tied with the k-th), setting the rest to -inf; 0 disables. */
    public static void topK(float[] scores, int k) {
        if (k <= 0 || k >= scores.length) {
            return;
        }
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        float threshold = sorted[sorted.length - k];
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] < threshold) {
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Nucleus filtering: scores sorted ascending; those whose cumulative softmax probability is at most
     * {@code 1 - topP} are removed (set to -inf); the highest-scoring token is always kept. 1 disables.
     */
    public static void topP(float[] scores, double topP) {
        if (topP >= 1.0) {
            return;
        }
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(scores[a], scores[b])); // ascending, stable
        float[] probs = softmax(scores);
        float limit = (float) (1 - topP);
        float cumulative = 0;
        for (int j = 0; j < order.length - 1; j++) { // the last (highest) is always kept
            cumulative += probs[order[j]];
            if (cumulative <= limit) {
                scores[order[j]] = Float.NEGATIVE_INFINITY;
            } else {
                break; // cumulative sums only grow
            }
        }
    }

    /** log_softmax(logits)[index], accumulated in double. */
    public static double logSoftmaxAt(float[] logits, int index) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return logits[index] - max - Math.log(sum);
    }

    /** log_softmax in float32 (max-shifted, sum accumulated in double). */
    public static float[] logSoftmax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        float logSum = (float) Math.log(sum);
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - max - logSum;
        }
        return out;
    }

    /** softmax in float32 (max-shifted, sum accumulated in double); -inf scores get probability 0. */
    public static float[] softmax(float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double sum = 0;
        double[] e = new double[scores.length];
        for (int i = 0; i < scores.length; i++) {
            e[i] = Math.exp(scores[i] - max);
            sum += e[i];
        }
        float[] out = new float[scores.length];
        for (int i = 0; i < scores.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /** The first index of the largest score (torch.argmax). */
    public static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Whether {@code values} holds {@code v}. */
    public static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
