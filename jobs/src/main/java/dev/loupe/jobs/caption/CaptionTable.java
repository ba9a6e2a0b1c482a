package dev.loupe.jobs.caption;

import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableFormat;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.Tables;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.core.fs.FSDataOutputStream;

/**
 * {@link CaptionRow}s as table rows ({@code dev.loupe.jobs.table}): the columns of {@code results.parquet}
 * (image, task, prompt, text, score, candidates as JSON, model, error_code, error_message), plus the order key in
 * the job's Parquet part files.
 */
final class CaptionTable {
    static final TableSchema RESULTS = TableSchema.of(
            Column.string("image"), Column.string("task"), Column.string("prompt"), Column.string("text"),
            Column.of("score", ColumnType.DOUBLE), Column.of("candidates", ColumnType.JSON), Column.string("model"),
            Column.string("error_code"), Column.string("error_message"));
    static final TableSchema PARTS = TableSchema.of(List.of(Column.string("sequence"))).with(RESULTS.columns());

    private CaptionTable() {}

    static TableRow row(CaptionRow r) {
        String candidates = null;
        if (!r.candidateTexts.isEmpty()) {
            candidates = r.toJson(false).get("candidates").toString();
        }
        return TableRow.of(r.image, r.task, r.prompt, r.text, r.score, candidates, r.model, r.errorCode, r.errorMessage);
    }

    static TableRow partRow(CaptionRow r) {
        List<Object> values = new ArrayList<>();
        values.add(r.sequence);
        TableRow row = row(r);
        for (int i = 0; i < row.size(); i++) {
            values.add(row.get(i));
        }
        return TableRow.of(values.toArray());
    }

    /** Bulk Parquet writer of the part files (CaptionRow in, so the stream keeps its POJO serializer). */
    static BulkWriter.Factory<CaptionRow> parquetParts() {
        return new PartsFactory();
    }

    private static final class PartsFactory implements BulkWriter.Factory<CaptionRow> {
        private static final long serialVersionUID = 1L;
        private final BulkWriter.Factory<TableRow> tables = Tables.bulkWriterFactory(TableFormat.PARQUET, PARTS);

        @Override
        public BulkWriter<CaptionRow> create(FSDataOutputStream out) throws IOException {
            BulkWriter<TableRow> writer = tables.create(out);
            return new BulkWriter<>() {
                @Override
                public void addElement(CaptionRow row) throws IOException {
                    writer.addElement(partRow(row));
                }

                @Override
                public void flush() throws IOException {
                    writer.flush();
                }

                @Override
                public void finish() throws IOException {
                    writer.finish();
                }
            };
        }
    }
}
