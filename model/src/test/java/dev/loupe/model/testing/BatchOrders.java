package dev.loupe.model.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks the parity tests share: every row of every batch equals its alone result; candidate scores match
 * transformers whatever the batch.
 */
public final class BatchOrders {
    /** Orders of three rows (pairs, triples, a repeated row) the rows are batched in. */
    static final int[][] ORDERS = {{0, 1}, {1, 0}, {2, 0}, {1, 2}, {0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {2, 2, 1}};

    private BatchOrders() {}

    /**
     * Annotates each of {@code rows} alone, checking its ids equal {@code expectedIds}, then in every order of
     * {@link #ORDERS}, checking each row's ids again and its score against its alone score within 1e-5.
     *
     * @return the largest score difference from the alone result
     */
    public static double check(BatchAnnotator annotator, List<AnnotationInput> rows, List<int[]> expectedIds) {
        double[] aloneScores = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Annotation alone = annotator.annotate(List.of(rows.get(i))).get(0).annotation();
            assertThat(alone.tokenIds()).as("row %d alone", i).containsExactly(expectedIds.get(i));
            aloneScores[i] = alone.score();
        }
        double worst = 0;
        for (int[] order : ORDERS) {
            List<AnnotationInput> batch = new ArrayList<>();
            for (int i : order) {
                batch.add(rows.get(i));
            }
            List<AnnotationOutcome> out = annotator.annotate(batch);
            for (int k = 0; k < order.length; k++) {
                int row = order[k];
                Annotation a = out.get(k).annotation();
                assertThat(a.tokenIds()).as("row %d at %d of %s", row, k, Arrays.toString(order))
                        .containsExactly(expectedIds.get(row));
                worst = Math.max(worst, Math.abs(a.score() - aloneScores[row]));
                assertThat(a.score()).isCloseTo(aloneScores[row], within(1e-5));
            }
        }
        return worst;
    }

    /** The fixture's ranking request ({@code rank} of reference.json) on its preprocessed image. */
    public static AnnotationInput rankInput(JsonNode rank, ImageTensor image, GenerationConfig config) {
        List<String> candidates = new ArrayList<>();
        for (JsonNode c : rank.path("candidates")) {
            candidates.add(c.path("candidate").asText());
        }
        return new AnnotationInput("rank", image, rank.path("prompt").asText(), Task.RANK, candidates, config);
    }

    /**
     * Ranks the fixture's candidates ({@code rank} of reference.json) alone and next to a generating request and
     * another ranking one; checks each candidate's score within 1e-3 and the best candidate.
     *
     * @return the largest candidate score difference from transformers
     */
    public static double checkRanking(BatchAnnotator annotator, AnnotationInput ranked, AnnotationInput generated,
                                      JsonNode rank, int[] generatedIds) {
        double worst = 0;
        for (List<AnnotationInput> batch : List.of(List.of(ranked), List.of(generated, ranked, ranked))) {
            List<AnnotationOutcome> out = annotator.annotate(batch);
            for (int k = 0; k < batch.size(); k++) {
                if (batch.get(k) != ranked) {
                    assertThat(out.get(k).annotation().tokenIds()).containsExactly(generatedIds);
                    continue;
                }
                Annotation a = out.get(k).annotation();
                assertThat(a.candidates()).extracting(Annotation.CandidateScore::text)
                        .containsExactlyElementsOf(ranked.candidates());
                for (int c = 0; c < ranked.candidates().size(); c++) {
                    double expected = rank.path("candidates").get(c).path("score_sum").asDouble();
                    worst = Math.max(worst, Math.abs(a.candidates().get(c).score() - expected));
                    assertThat(a.candidates().get(c).score()).as(ranked.candidates().get(c))
                            .isCloseTo(expected, within(1e-3));
                }
                assertThat(a.text()).isEqualTo(rank.path("best").asText());
                assertThat(a.tokenIds()).containsExactly(HfFixture.ints(rank.path("candidates").get(
                        rank.path("ranking_by_score_sum").get(0).asInt()).path("cand_ids")));
            }
        }
        return worst;
    }
}
