package dev.loupe.jobs.enrich;

import dev.loupe.schemas.Task;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One row's (or WebDataset sample's) annotations as the journal holds them: each added column's value in column
 * order (a ranking's scores column, JSON, after it when asked for) and why any is missing.
 *
 * @param values added column name to value (null when missing)
 * @param errors the reasons, in order; empty when the row has every annotation
 */
record RowAnnotations(Map<String, String> values, Set<String> errors) {

    /**
     * The annotations of the image known in the journal as {@code key} (null: the row has no usable image, said in
     * {@code errors}).
     */
    static RowAnnotations of(EnrichSettings settings, Journal journal, String key, Set<String> errors) {
        Map<String, String> values = new LinkedHashMap<>();
        for (AddedColumn column : settings.columns()) {
            Journal.Entry entry = key == null ? null : journal.get(key, column.name(), column.promptHash());
            if (key != null && entry == null) {
                errors.add(column.name() + ": not annotated (the job did not finish)");
            } else if (entry != null && !entry.ok()) {
                errors.add(entry.error());
            }
            boolean ok = entry != null && entry.ok();
            values.put(column.name(), ok ? entry.value() : null);
            if (column.task() == Task.RANK && settings.candidateScores()) {
                values.put(column.scoresColumn(), ok ? entry.scores() : null);
            }
        }
        return new RowAnnotations(values, errors);
    }

    /** The error column's value: the reasons joined, or null. */
    String error() {
        return errors.isEmpty() ? null : String.join("; ", errors);
    }
}
