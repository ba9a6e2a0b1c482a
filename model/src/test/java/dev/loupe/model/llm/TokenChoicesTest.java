package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationConfig.EarlyStopping;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Picking from a row's top choices equals picking from its logits, on seeded random logits with many ties (values
 * on a 0.25 grid): greedy with and without end-of-sequence suppression, and whole beam searches step by step (the
 * beams each step continues, their tokens, the finished hypotheses and their scores), over beam counts, end ids,
 * min/max new tokens, length penalties and early-stopping modes. Which settings the choices serve.
 */
class TokenChoicesTest {

    @Test
    void choicesServeGreedyAndBeamSearchWithoutPenaltyOrSampling() {
        GenerationConfig greedy = GenerationConfig.greedy(10);
        assertThat(TokenChoices.needed(greedy, 2, 100)).isEqualTo(1);
        assertThat(TokenChoices.needed(greedy.withMinNewTokens(3), 2, 100)).isEqualTo(3);
        assertThat(TokenChoices.needed(greedy.withBeams(4, 2), 1, 100)).isEqualTo(8);
        assertThat(TokenChoices.needed(greedy.withBeams(4, 2), 2, 100)).isEqualTo(12);
        assertThat(TokenChoices.needed(greedy.withBeams(4, 2).withMinNewTokens(1), 2, 100)).isEqualTo(14);
        assertThat(TokenChoices.needed(greedy.withBeams(4, 2), 2, 11)).isZero(); // more than the vocabulary
        assertThat(TokenChoices.needed(greedy.withRepetitionPenalty(1.2), 1, 100)).isZero();
        assertThat(TokenChoices.needed(greedy.withSampling(true, 1.0, 5, 1.0), 1, 100)).isZero();
        assertThat(TokenChoices.needed(greedy.withBeams(3, 1).withSampling(true, 1.0, 0, 1.0), 1, 100)).isZero();
    }

    @Test
    void greedyPicksFromChoicesWhatItPicksFromTheLogits() {
        SplittableRandom random = new SplittableRandom(1);
        int vocab = 30;
        int[] eos = {3, 7};
        TokenPicker picker = new TokenPicker(vocab);
        for (int trial = 0; trial < 2000; trial++) {
            float[] logits = logits(random, vocab);
            if (trial % 3 == 0) { // an end id on top, tied or not
                logits[eos[trial % 2]] = max(logits) + (trial % 2) * 0.25f;
            }
            int count = random.nextInt(4);
            GenerationConfig config = GenerationConfig.greedy(10).withMinNewTokens(random.nextInt(4));
            int k = TokenChoices.needed(config, eos.length, vocab);
            int[] ids = top(logits, k);
            int j = TokenChoices.greedy(ids, k, count, config, eos);
            int expected = picker.pick(logits, new int[0], new int[10], count, config, eos, null);
            assertThat(ids[j]).as("trial %d", trial).isEqualTo(expected);
        }
        assertThatThrownBy(() -> TokenChoices.greedy(new int[] {3, 7}, 2, 0, GenerationConfig.greedy(5)
                .withMinNewTokens(2), eos)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void beamSearchStepsFromChoicesEqualStepsFromTheLogits() {
        SplittableRandom random = new SplittableRandom(2);
        List<EarlyStopping> stops = List.of(EarlyStopping.FALSE, EarlyStopping.TRUE, EarlyStopping.NEVER);
        double[] penalties = {1.0, 0.5, 2.0};
        for (int trial = 0; trial < 400; trial++) {
            int vocab = 12 + random.nextInt(30);
            int beams = 2 + random.nextInt(3);
            int[] eos = random.nextBoolean() ? new int[] {1} : new int[] {1, 4};
            int max = 3 + random.nextInt(5);
            GenerationConfig config = GenerationConfig.greedy(max).withBeams(beams, 1 + random.nextInt(beams))
                    .withMinNewTokens(random.nextInt(3)).withLengthPenalty(penalties[trial % 3])
                    .withEarlyStopping(stops.get(trial / 3 % 3));
            int k = TokenChoices.needed(config, eos.length, vocab);
            if (k == 0) {
                continue;
            }
            BeamSearchScorer fromLogits = new BeamSearchScorer(config, vocab, eos, new int[0], null);
            BeamSearchScorer fromChoices = new BeamSearchScorer(config, vocab, eos, new int[0], null);
            for (int step = 0; !fromLogits.isDone(); step++) {
                float[][] logits = new float[beams][];
                int[][] ids = new int[beams][];
                float[][] logProbs = new float[beams][k];
                for (int b = 0; b < beams; b++) {
                    // the first step: every beam reads the prompt's row, as the generator feeds it
                    if (step == 0 && b > 0) {
                        logits[b] = logits[0];
                    } else {
                        logits[b] = logits(random, vocab);
                        if (random.nextInt(4) == 0) {
                            logits[b][eos[0]] = max(logits[b]); // end ids compete for the top
                        }
                    }
                    ids[b] = top(logits[b], k);
                    float[] full = LogitsProcessors.logSoftmax(logits[b]);
                    for (int j = 0; j < k; j++) {
                        logProbs[b][j] = full[ids[b][j]];
                    }
                }
                String what = "trial " + trial + " step " + step + " " + config;
                assertThat(fromChoices.step(ids, logProbs, k)).as(what).containsExactly(fromLogits.step(logits));
                assertThat(fromChoices.isDone()).as(what).isEqualTo(fromLogits.isDone());
                if (!fromLogits.isDone()) {
                    assertThat(fromChoices.lastTokens()).as(what).containsExactly(fromLogits.lastTokens());
                }
            }
            List<GeneratedSequence> a = fromChoices.results(config.numReturnSequences());
            List<GeneratedSequence> b = fromLogits.results(config.numReturnSequences());
            for (int i = 0; i < a.size(); i++) {
                assertThat(a.get(i).tokenIds()).as("trial %d", trial).containsExactly(b.get(i).tokenIds());
                assertThat(a.get(i).stepLogProbs()).as("trial %d", trial).containsExactly(b.get(i).stepLogProbs());
                assertThat(a.get(i).score()).as("trial %d", trial).isEqualTo(b.get(i).score());
            }
        }
    }

    @Test
    void tooFewChoicesAreRefused() {
        GenerationConfig config = GenerationConfig.greedy(5).withBeams(2, 1);
        BeamSearchScorer scorer = new BeamSearchScorer(config, 20, new int[] {1}, new int[0], null);
        assertThatThrownBy(() -> scorer.step(new int[2][3], new float[2][3], 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot serve");
    }

    /** Logits on a 0.25 grid: many exact ties. */
    private static float[] logits(SplittableRandom random, int vocab) {
        float[] out = new float[vocab];
        for (int v = 0; v < vocab; v++) {
            out[v] = random.nextInt(-12, 12) * 0.25f;
        }
        return out;
    }

    private static float max(float[] values) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : values) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** The ids of the k largest values, largest first, ties to the lower id (what the graph's TopK gives). */
    private static int[] top(float[] logits, int k) {
        return IntStream.range(0, logits.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }
}
