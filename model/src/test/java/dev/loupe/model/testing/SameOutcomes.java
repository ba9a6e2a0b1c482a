package dev.loupe.model.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.AnnotationOutcome;
import java.util.List;

/** Two runners' outcomes for the same rows compared row by row: the same failures, the same annotations. */
public final class SameOutcomes {
    private SameOutcomes() {}

    /** Each row of {@code out} succeeded or failed as in {@code expected}, with the same error code or annotation. */
    public static void assertSameOutcomes(List<AnnotationOutcome> out, List<AnnotationOutcome> expected) {
        for (int i = 0; i < expected.size(); i++) {
            AnnotationOutcome e = expected.get(i);
            AnnotationOutcome o = out.get(i);
            assertThat(o.isSuccess()).as("row %d: %s", i, o).isEqualTo(e.isSuccess());
            if (!e.isSuccess()) {
                assertThat(o.errorCode()).isEqualTo(e.errorCode());
                continue;
            }
            assertThat(o.annotation().tokenIds()).as("row %d", i).containsExactly(e.annotation().tokenIds());
            assertThat(o.annotation()).as("row %d", i).usingRecursiveComparison().isEqualTo(e.annotation());
        }
    }
}
