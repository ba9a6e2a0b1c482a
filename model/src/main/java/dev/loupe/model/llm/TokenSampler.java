package dev.loupe.model.llm;

import java.util.SplittableRandom;

/**
 * Draws token ids from softmax(scores) with a caller-owned random stream, one uniform number per draw, so a
 * request seeded on its own gets the same draws whatever else is in its batch. This is Java's stream, not
 * torch's: a seed gives reproducible tokens here, not the tokens torch.multinomial would draw.
 */
public final class TokenSampler {
    private TokenSampler() {}

    /** The random stream of a request's {@code index}-th returned sequence (index 0 uses the seed itself). */
    public static SplittableRandom stream(long seed, int index) {
        return new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L));
    }

    /** One draw from softmax(scores) (-inf scores never drawn). */
    public static int sample(float[] scores, SplittableRandom random) {
        float[] probs = LogitsProcessors.softmax(scores);
        return draw(probs, random.nextDouble());
    }

    /**
     * {@code n} distinct indices drawn without replacement from softmax(scores), in draw order
     * (torch.multinomial(probs, n, replacement=False)); zero-probability indices come last, lowest index first.
     */
    public static int[] sampleWithoutReplacement(float[] scores, int n, SplittableRandom random) {
        float[] probs = LogitsProcessors.softmax(scores);
        double[] weights = new double[probs.length];
        for (int i = 0; i < probs.length; i++) {
            weights[i] = probs[i];
        }
        int[] out = new int[n];
        boolean[] taken = new boolean[weights.length];
        for (int k = 0; k < n; k++) {
            double total = 0;
            for (int i = 0; i < weights.length; i++) {
                if (!taken[i]) {
                    total += weights[i];
                }
            }
            int pick = -1;
            if (total > 0) {
                double u = random.nextDouble() * total;
                double acc = 0;
                for (int i = 0; i < weights.length; i++) {
                    if (taken[i] || weights[i] == 0) {
                        continue;
                    }
                    acc += weights[i];
                    pick = i;
                    if (u < acc) {
                        break;
                    }
                }
            }
            if (pick < 0) {
                for (int i = 0; i < weights.length && pick < 0; i++) {
                    if (!taken[i]) {
                        pick = i;
                    }
                }
            }
            if (pick < 0) {
                throw new IllegalArgumentException("cannot draw " + n + " of " + weights.length + " indices");
            }
            taken[pick] = true;
            out[k] = pick;
        }
        return out;
    }

    private static int draw(float[] probs, double u) {
        double acc = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] <= 0) {
                continue;
            }
            acc += probs[i];
            last = i;
            if (u < acc) {
                return i;
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("no token has a positive probability");
        }
        return last; // rounding left the cumulative sum just under u
    }
}
