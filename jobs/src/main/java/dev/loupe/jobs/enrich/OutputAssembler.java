package dev.loupe.jobs.enrich;

import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.schemas.Task;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes the enriched table: every input row in input order with the added columns filled from the journal, and
 * the error column saying why a row (or one of its columns) has no annotation. The table is written next to the
 * output and moved into place at the end, so the output is either the previous file or the complete new one.
 */
final class OutputAssembler {

    /** What the output holds. */
    record Counts(long rows, long rowsWithErrors) {}

    private OutputAssembler() {}

    static Counts write(EnrichSettings settings, Journal journal) throws IOException {
        Path tmp = settings.output().resolveSibling("." + settings.output().getFileName() + ".writing");
        long rows = 0;
        long withErrors = 0;
        Path folder = settings.input().getParent();
        try (TableReader in = Tables.open(settings.input(), settings.inputFormat())) {
            int image = in.schema().indexOf(settings.imageColumn());
            TableSchema schema = outputSchema(in.schema(), settings);
            try (TableWriter out = Tables.create(tmp, settings.outputFormat(), schema)) {
                for (TableRow row; (row = in.read()) != null; ) {
                    List<Object> added = new ArrayList<>();
                    Set<String> errors = new LinkedHashSet<>();
                    String key = null;
                    try {
                        key = ImageReferences.resolve(row.get(image), folder).key();
                    } catch (IllegalArgumentException e) {
                        errors.add(ErrorCode.INVALID_REQUEST + ": " + e.getMessage());
                    }
                    RowAnnotations annotations = RowAnnotations.of(settings, journal, key, errors);
                    added.addAll(annotations.values().values());
                    added.add(annotations.error());
                    withErrors += errors.isEmpty() ? 0 : 1;
                    out.write(row.with(added.toArray()));
                    rows++;
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, settings.output(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Counts(rows, withErrors);
    }

    static TableSchema outputSchema(TableSchema input, EnrichSettings settings) {
        List<Column> added = new ArrayList<>();
        for (AddedColumn column : settings.columns()) {
            added.add(Column.string(column.name()));
            if (column.task() == Task.RANK && settings.candidateScores()) {
                added.add(Column.of(column.scoresColumn(), ColumnType.JSON));
            }
        }
        added.add(Column.string(settings.errorColumn()));
        for (Column column : added) {
            if (input.has(column.name())) {
                throw new IllegalArgumentException("the input already has a column " + column.name()
                        + ": choose another name for the added one");
            }
        }
        return input.with(added);
    }
}
