package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The external merge sort of the caption finalizer: input order out of unsorted part files, runs cleaned up. */
class SortedRunsTest {
    @TempDir
    Path tmp;

    private static CaptionRow row(int split, long position) {
        CaptionRow row = new CaptionRow();
        row.sequence = InputSplit.sequence(split, position);
        row.image = "img-" + split + "-" + position + ".png";
        if (position % 4 == 3) {
            row.errorCode = "IMAGE_UNSUPPORTED_FORMAT";
            row.errorMessage = "not an image: " + position;
        } else {
            row.task = "caption";
            row.prompt = "A short image description:";
            row.text = "text \"" + position + "\" é";
            row.score = position % 2 == 0 ? null : -0.1 * position;
            row.model = "echo@test";
        }
        return row;
    }

    /** Every row of the merge, as part-file lines. */
    private static List<String> merged(SortedRuns runs) throws Exception {
        List<String> out = new ArrayList<>();
        runs.merge(r -> out.add(r.toJsonLine(true)));
        return out;
    }

    @Test
    void unsortedPartFilesMergeIntoSequenceOrderWithEveryRowOnceThroughManyTinyRuns() throws Exception {
        List<CaptionRow> rows = new ArrayList<>();
        for (int split = 0; split < 4; split++) {
            for (long position = 0; position < 9; position++) {
                rows.add(row(split, position));
            }
        }
        List<String> expected = rows.stream().map(r -> r.toJsonLine(true)).toList();
        List<CaptionRow> shuffled = new ArrayList<>(rows);
        Collections.shuffle(shuffled, new Random(7));
        Path parts = tmp.resolve("parts");
        for (int file = 0; file < 5; file++) {   // part files as the sinks leave them: a few per subtask, unsorted
            Path part = parts.resolve("2026-11-22--03/part-" + file + "-0");
            Files.createDirectories(part.getParent());
            try (BufferedWriter w = Files.newBufferedWriter(part, StandardCharsets.UTF_8)) {
                for (int i = file; i < shuffled.size(); i += 5) {
                    w.write(shuffled.get(i).toJsonLine(true));
                    w.write('\n');
                }
            }
        }
        Files.writeString(parts.resolve("2026-11-22--03/.part-9-0.inprogress"), row(9, 0).toJsonLine(true) + "\n");

        Path sortDir = tmp.resolve("work/sort");
        try (SortedRuns runs = new SortedRuns(sortDir, 3)) {
            CaptionOutputs.readParts(parts, runs::add);
            assertThat(runs.runCount()).isEqualTo(12);
            try (var files = Files.list(sortDir)) {
                assertThat(files.count()).isEqualTo(12);
            }
            assertThat(merged(runs)).containsExactlyElementsOf(expected);
        }
        assertThat(sortDir).doesNotExist();
    }

    @Test
    void aRemainderAfterTheLastFullRunIsMergedAndRowsWithEqualSequencesKeepTheirOrder() throws Exception {
        CaptionRow first = row(0, 1);
        CaptionRow second = row(0, 1);
        second.image = "second.png";
        try (SortedRuns runs = new SortedRuns(tmp.resolve("sort"), 2)) {
            for (CaptionRow r : List.of(row(0, 4), first, row(0, 0), second, row(0, 2))) {
                runs.add(r);
            }
            List<String> images = new ArrayList<>();
            runs.merge(r -> images.add(r.image));
            assertThat(images).containsExactly("img-0-0.png", "img-0-1.png", "second.png", "img-0-2.png",
                    "img-0-4.png");
            assertThatThrownBy(() -> runs.merge(r -> {})).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void rowsThatFitOneRunAreSortedWithoutSpillingAndNoRowsMergeToNothing() throws Exception {
        try (SortedRuns runs = new SortedRuns(tmp.resolve("sort"), 100)) {
            runs.add(row(1, 0));
            runs.add(row(0, 5));
            assertThat(runs.runCount()).isZero();
            assertThat(merged(runs)).containsExactly(row(0, 5).toJsonLine(true), row(1, 0).toJsonLine(true));
        }
        try (SortedRuns runs = new SortedRuns(tmp.resolve("sort"), 1)) {
            assertThat(merged(runs)).isEmpty();
        }
        assertThatThrownBy(() -> new SortedRuns(tmp.resolve("sort"), 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
