package dev.loupe.model.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The batch-invariance check the parity tests share: every row of every batch equals its alone result. */
public final class BatchOrders {
    /** Orders of three rows (pairs, triples, a repeated row) the rows are batched in. */
    static final int[][] ORDERS = {{0, 1}, {1, 0}, {2, 0}, {1, 2}, {0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {2, 2, 1}};

    private BatchOrders() {}

    /**
     * Annotates {@code rows} in every order of {@link #ORDERS} and checks each row's ids equal {@code expectedIds}
     * and its score its alone score within 1e-5.
     *
     * @return the largest score difference from the alone result
     */
    public static double check(BatchAnnotator annotator, List<AnnotationInput> rows, List<int[]> expectedIds,
                               double[] aloneScores) {
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
}
