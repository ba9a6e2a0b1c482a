package dev.loupe.jobs.caption;

import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;

/**
 * {@link CaptionRow}s as table rows ({@code dev.loupe.jobs.table}): the columns of {@code results.parquet}
 * (image, task, prompt, text, score, candidates as JSON, model, error_code, error_message), plus {@code sample}
 * (JSON: a WebDataset sample's key and text members) when rows of WebDataset samples are among them.
 */
final class CaptionTable {
    static final TableSchema RESULTS = TableSchema.of(
            Column.string("image"), Column.string("task"), Column.string("prompt"), Column.string("text"),
            Column.of("score", ColumnType.DOUBLE), Column.of("candidates", ColumnType.JSON), Column.string("model"),
            Column.string("error_code"), Column.string("error_message"));

    static final TableSchema RESULTS_WITH_SAMPLES = RESULTS.with(java.util.List.of(Column.of("sample", ColumnType.JSON)));

    private CaptionTable() {}

    static TableRow row(CaptionRow r) {
        String candidates = null;
        if (!r.candidateTexts.isEmpty()) {
            candidates = r.toJson(false).get("candidates").toString();
        }
        return TableRow.of(r.image, r.task, r.prompt, r.text, r.score, candidates, r.model, r.errorCode, r.errorMessage);
    }

    /** The row of {@link #RESULTS_WITH_SAMPLES}. */
    static TableRow rowWithSample(CaptionRow r) {
        return row(r).with(new Object[] {r.sample});
    }
}
