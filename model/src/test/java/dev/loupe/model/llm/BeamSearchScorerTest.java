package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationConfig.EarlyStopping;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The beam scorer against hand-worked cases on a fake language model: a table from the generated prefix to the
 * next token's probabilities (given as logits ln p, so log_softmax returns them). Vocabulary: 0 = EOS, 1 = a,
 * 2 = b, 3 = c; two beams, so four candidates per step.
 */
class BeamSearchScorerTest {
    private static final int[] EOS = {0};

    /** Runs the scorer on the table until done; returns the number of steps taken. */
    private static int run(BeamSearchScorer scorer, Map<String, double[]> table) {
        int steps = 0;
        String[] beams = {"", ""};
        while (!scorer.isDone()) {
            float[][] logits = new float[2][];
            for (int b = 0; b < 2; b++) {
                double[] p = table.get(beams[b]);
                logits[b] = new float[p.length];
                for (int v = 0; v < p.length; v++) {
                    logits[b][v] = (float) Math.log(p[v]);
                }
            }
            int[] source = scorer.step(logits);
            int[] last = scorer.isDone() ? new int[0] : scorer.lastTokens();
            String[] next = new String[2];
            for (int b = 0; b < last.length; b++) {
                next[b] = beams[source[b]] + "eabc".charAt(last[b]);
            }
            beams = next;
            steps++;
        }
        return steps;
    }

    private static BeamSearchScorer scorer(int maxNewTokens, EarlyStopping early) {
        GenerationConfig config = GenerationConfig.greedy(maxNewTokens).withBeams(2, 2).withEarlyStopping(early);
        return new BeamSearchScorer(config, 4, EOS, new int[0], new SplittableRandom(0));
    }

    private static final Map<String, double[]> EARLY_EOS = Map.of(
            "", new double[] {.4, .3, .2, .1},
            "a", new double[] {.5, .1, .3, .1},
            "b", new double[] {.1, .6, .2, .1},
            "ba", new double[] {.25, .25, .25, .25},
            "ab", new double[] {.25, .25, .25, .25});

    @Test
    void endOfSequenceInTheTopBeamsFinishesAndTheSearchStopsWhenNoRunningBeamCanWin() {
        BeamSearchScorer s = scorer(3, EarlyStopping.FALSE);
        // step 1: candidates EOS (.4), a, b, c; EOS ranks first -> hypothesis [EOS] scored ln .4 / 1; a, b run on.
        // step 2: candidates aEOS (.3*.5), ba (.2*.6), ab (.3*.3), bb; aEOS finishes scored ln(.15) / 2; running best
        // ba: ln(.12) / 2 = -1.06 < worst finished -0.949 -> done (early_stopping false judges the current length).
        assertThat(run(s, EARLY_EOS)).isEqualTo(2);
        List<GeneratedSequence> out = s.results(2);
        assertThat(out.get(0).tokenIds()).containsExactly(0);
        assertThat(out.get(0).score()).isCloseTo(Math.log(.4), within(1e-6));
        assertThat(out.get(1).tokenIds()).containsExactly(1, 0);
        assertThat(out.get(1).score()).isCloseTo(Math.log(.3 * .5) / 2, within(1e-6));
        assertThat(out.get(1).sumLogProb()).isCloseTo(Math.log(.3 * .5), within(1e-6));
        assertThat(out.get(1).stepLogProbs()[1]).isCloseTo((float) Math.log(.5), within(1e-6f));
    }

    @Test
    void earlyStoppingNeverJudgesRunningBeamsAtMaxLength() {
        BeamSearchScorer s = scorer(3, EarlyStopping.NEVER);
        // ba could reach ln(.12) / 3 = -0.707 > -0.949 at max length: one more step; its continuations
        // (ln(.12 * .25) / 3 = -1.169) do not displace the two hypotheses.
        assertThat(run(s, EARLY_EOS)).isEqualTo(3);
        List<GeneratedSequence> out = s.results(2);
        assertThat(out.get(0).tokenIds()).containsExactly(0);
        assertThat(out.get(1).tokenIds()).containsExactly(1, 0);
    }

    @Test
    void endOfSequenceBelowTheTopBeamsIsNotAHypothesisAndMaxLengthFinalisesTheTopRanks() {
        Map<String, double[]> table = Map.of(
                "", new double[] {.05, .5, .3, .15},
                "a", new double[] {.15, .25, .5, .1},
                "b", new double[] {.7, .1, .1, .1});
        BeamSearchScorer s = scorer(2, EarlyStopping.FALSE);
        // step 1: a, b, c, EOS: EOS ranks 4th (>= 2 beams) so [EOS] is no hypothesis.
        // step 2 (max length, every candidate stops): ab (.25), bEOS (.21), aa (.125), aEOS (.075):
        // the top two ranks are finalised, each over its 2 tokens.
        assertThat(run(s, table)).isEqualTo(2);
        List<GeneratedSequence> out = s.results(2);
        assertThat(out.get(0).tokenIds()).containsExactly(1, 2);
        assertThat(out.get(0).score()).isCloseTo(Math.log(.5 * .5) / 2, within(1e-6));
        assertThat(out.get(1).tokenIds()).containsExactly(2, 0);
        assertThat(out.get(1).score()).isCloseTo(Math.log(.3 * .7) / 2, within(1e-6));
    }

    @Test
    void lengthPenaltyDividesByLengthToThePower() {
        Map<String, double[]> table = Map.of(
                "", new double[] {.05, .5, .3, .15},
                "a", new double[] {.15, .25, .5, .1},
                "b", new double[] {.7, .1, .1, .1});
        GenerationConfig config = GenerationConfig.greedy(2).withBeams(2, 1).withLengthPenalty(2.0);
        BeamSearchScorer s = new BeamSearchScorer(config, 4, EOS, new int[0], new SplittableRandom(0));
        run(s, table);
        GeneratedSequence best = s.results(1).get(0);
        assertThat(best.tokenIds()).containsExactly(1, 2);
        assertThat(best.score()).isCloseTo(Math.log(.25) / 4, within(1e-6));
    }

    @Test
    void minNewTokensKeepsEndOfSequenceOut() {
        BeamSearchScorer s = new BeamSearchScorer(GenerationConfig.greedy(3).withBeams(2, 2).withMinNewTokens(2),
                4, EOS, new int[0], new SplittableRandom(0));
        run(s, EARLY_EOS);
        for (GeneratedSequence g : s.results(2)) {
            int firstEos = Arrays.stream(g.tokenIds()).boxed().toList().indexOf(0);
            assertThat(firstEos).as(Arrays.toString(g.tokenIds())).isNotIn(0, 1);
        }
    }

    @Test
    void topIndicesAreLargestFirstWithTiesToTheLowerIndex() {
        assertThat(BeamSearchScorer.topIndices(new float[] {1, 3, 3, -1, 2}, 3)).containsExactly(1, 2, 4);
        assertThat(BeamSearchScorer.topIndices(new float[] {Float.NEGATIVE_INFINITY, 0, Float.NEGATIVE_INFINITY}, 2))
                .containsExactly(1, 0);
    }
}
