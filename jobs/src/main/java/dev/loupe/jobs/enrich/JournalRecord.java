package dev.loupe.jobs.enrich;

import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.flink.api.common.serialization.Encoder;

/**
 * One {@link Journal} record on its way from the pipeline's outcomes to the journal's sink: a Flink POJO (public
 * String fields), so Flink serialises it field by field between the job's chain and the sink (a union of results and
 * failures, so not chained) rather than through Kryo, as it would a {@link TableRow}'s array of objects.
 */
public class JournalRecord {
    public String uri;
    public String column;
    public String value;
    public String scores;
    public String error;
    public String model;
    public String prompt;

    public JournalRecord() {}

    JournalRecord(String uri, String column, String value, String scores, String error, String model, String prompt) {
        this.uri = uri;
        this.column = column;
        this.value = value;
        this.scores = scores;
        this.error = error;
        this.model = model;
        this.prompt = prompt;
    }

    /** The record as a row of {@link Journal#SCHEMA}. */
    TableRow toRow() {
        return Journal.record(uri, column, value, scores, error, model, prompt);
    }

    /** Writes records as the journal's JSON lines ({@link Journal#SCHEMA}). */
    static final class LineEncoder implements Encoder<JournalRecord> {
        private static final long serialVersionUID = 1L;
        private final Encoder<TableRow> rows = Tables.jsonlEncoder(Journal.SCHEMA);

        @Override
        public void encode(JournalRecord record, OutputStream stream) throws IOException {
            rows.encode(record.toRow(), stream);
        }
    }
}
