package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hugging Face's logits processors and warpers against hand-computed values. */
class LogitsProcessorsTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeScoresOncePerId() {
        float[] scores = {2f, -1f, 0.5f, -3f, 4f};
        // id 0 in the prompt twice, id 1 in the prompt and generated, id 3 generated; ids 2 and 4 untouched;
        // generated ids beyond the count are not yet generated.
        LogitsProcessors.repetitionPenalty(scores, new int[] {0, 1, 0}, new int[] {1, 3, 4}, 2, 2.0);
        assertThat(scores).containsExactly(1f, -2f, 0.5f, -6f, 4f);
    }

    @Test
    void repetitionPenaltyOneChangesNothing() {
        float[] scores = {2f, -1f};
        LogitsProcessors.repetitionPenalty(scores, new int[] {0, 1}, new int[0], 0, 1.0);
        assertThat(scores).containsExactly(2f, -1f);
    }

    @Test
    void temperatureDivides() {
        float[] scores = {1f, -2f};
        LogitsProcessors.temperature(scores, 0.5);
        assertThat(scores).containsExactly(2f, -4f);
    }

    @Test
    void topKKeepsTheKHighestAndTheirTies() {
        float[] scores = {1f, 5f, 3f, 3f, 0f};
        LogitsProcessors.topK(scores, 2);
        assertThat(scores).containsExactly(NEG_INF, 5f, 3f, 3f, NEG_INF);
        float[] all = {1f, 2f};
        LogitsProcessors.topK(all, 0);
        assertThat(all).containsExactly(1f, 2f);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities .5, .3, .15, .05 (logits ln p)
        float[] scores = logs(.5, .3, .15, .05);
        float[] p80 = scores.clone();
        LogitsProcessors.topP(p80, 0.8);
        // ascending cumulative: .05, .20, .50, 1.0; removed where <= 0.2: the .05 and .15 tokens
        assertThat(p80[0]).isEqualTo(scores[0]);
        assertThat(p80[1]).isEqualTo(scores[1]);
        assertThat(p80[2]).isEqualTo(NEG_INF);
        assertThat(p80[3]).isEqualTo(NEG_INF);
        float[] tiny = scores.clone();
        LogitsProcessors.topP(tiny, 0.01);
        assertThat(tiny).containsExactly(scores[0], NEG_INF, NEG_INF, NEG_INF);
    }

    @Test
    void samplingFollowsTheDistributionAndIsReproducible() {
        float[] scores = logs(.7, .2, .1, 0);
        scores[3] = NEG_INF;
        int[] counts = new int[4];
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 20000; i++) {
            counts[TokenSampler.sample(scores, random)]++;
        }
        assertThat(counts[3]).isZero();
        assertThat(counts[0] / 20000.0).isBetween(0.68, 0.72);
        assertThat(counts[2] / 20000.0).isBetween(0.09, 0.11);
        assertThat(TokenSampler.sample(scores, new SplittableRandom(9)))
                .isEqualTo(TokenSampler.sample(scores, new SplittableRandom(9)));
        int[] drawn = TokenSampler.sampleWithoutReplacement(scores, 4, new SplittableRandom(1));
        assertThat(drawn).containsExactlyInAnyOrder(0, 1, 2, 3);
        assertThat(drawn[3]).isEqualTo(3); // zero probability comes last
    }

    private static float[] logs(double... p) {
        float[] out = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = (float) Math.log(p[i]);
        }
        return out;
    }
}
