package dev.loupe.model.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@link BatchAnnotator#annotateContinuously} call as continuous-batching tests check it: the outcomes in input
 * order, and the order they were handed over in.
 */
public record ContinuousRun(List<AnnotationOutcome> outcomes, List<Integer> order) {

    /** Runs {@code rows} with at most {@code maxActiveRows} decoding at once; fails if a row is handed over twice. */
    public static ContinuousRun of(BatchAnnotator annotator, List<AnnotationInput> rows, int maxActiveRows) {
        AnnotationOutcome[] got = new AnnotationOutcome[rows.size()];
        List<Integer> order = new ArrayList<>();
        annotator.annotateContinuously(rows, maxActiveRows, (index, outcome) -> {
            assertThat(got[index]).as("outcome %d handed over twice", index).isNull();
            got[index] = outcome;
            order.add(index);
        });
        assertThat(order).as("every row handed over").hasSize(rows.size());
        return new ContinuousRun(List.of(got), List.copyOf(order));
    }

    /** Each row alone, one {@code annotate} call per row: what a continuous run must equal. */
    public static List<AnnotationOutcome> alone(BatchAnnotator annotator, List<AnnotationInput> rows) {
        List<AnnotationOutcome> alone = new ArrayList<>();
        for (AnnotationInput row : rows) {
            alone.add(annotator.annotate(List.of(row)).get(0));
        }
        return alone;
    }

    /** Whether row {@code first} was handed over before row {@code second}. */
    public boolean handedOverBefore(int first, int second) {
        return order.indexOf(first) < order.indexOf(second);
    }

    /**
     * Every row succeeded or failed as alone: the same error code, or identical ids, the score within 1e-5, the same
     * text and as many candidates.
     */
    public void assertAloneResults(List<AnnotationOutcome> alone) {
        for (int i = 0; i < alone.size(); i++) {
            AnnotationOutcome got = outcomes.get(i);
            assertThat(got.isSuccess()).as("row %d: %s", i, got).isEqualTo(alone.get(i).isSuccess());
            if (!got.isSuccess()) {
                assertThat(got.errorCode()).as("row %d", i).isEqualTo(alone.get(i).errorCode());
                continue;
            }
            Annotation want = alone.get(i).annotation();
            Annotation a = got.annotation();
            assertThat(a.tokenIds()).as("row %d", i).containsExactly(want.tokenIds());
            assertThat(a.score()).as("row %d", i).isCloseTo(want.score(), within(1e-5));
            assertThat(a.text()).as("row %d", i).isEqualTo(want.text());
            assertThat(a.candidates()).as("row %d", i).hasSameSizeAs(want.candidates());
        }
    }
}
