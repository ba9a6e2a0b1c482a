package dev.loupe.model.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GenerationSplitTest {

    @Test
    void aSpanIsTheDifferenceOfTwoSnapshotsAndItsSummaryGivesRowsPerRun() {
        GenerationSplit before = new GenerationSplit(1_000_000_000L, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        GenerationSplit after = new GenerationSplit(3_500_000_000L, 48, 0, 400_000_000L, 3, 32, 2_000_000_000L,
                100, 1_550, 0, 0);

        GenerationSplit span = after.minus(before);

        assertThat(span.imageSideRows()).isEqualTo(32);
        assertThat(span.meanStepRows()).isEqualTo(15.5);
        assertThat(span.summary()).isEqualTo("image side 2.5 s for 32 rows; static batches 0.0 s; continuous: "
                + "3 prefills of 10.7 rows in 0.4 s, 100 steps of 15.5 rows in 2.0 s, image side ahead 0.0 s for 0 rows");
        assertThat(GenerationSplit.NONE.summary()).contains("0 prefills of 0.0 rows", "0 steps of 0.0 rows");
    }
}
