package dev.loupe.jobs.table;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * Writes one JSON object per line, keys in column order, every column present (null when empty); BYTES as base64
 * text, JSON columns as the JSON they hold, NATIVE (Parquet) values as Avro prints them.
 */
public final class JsonlTableWriter implements TableWriter {

    private final Writer out;
    private final TableSchema schema;

    public JsonlTableWriter(OutputStream out, TableSchema schema) {
        this.out = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        this.schema = schema;
    }

    /** One row as a JSON line (without the line end). */
    public static String line(TableSchema schema, TableRow row) throws IOException {
        TableValues.checkArity(schema, row);
        ObjectNode node = TableValues.JSON.createObjectNode();
        for (int i = 0; i < schema.size(); i++) {
            node.set(schema.column(i).name(), TableValues.toJson(schema.column(i), row.get(i)));
        }
        return TableValues.JSON.writeValueAsString(node);
    }

    @Override
    public void write(TableRow row) throws IOException {
        out.write(line(schema, row));
        out.write('\n');
    }

    /** Flushes buffered text to the stream without closing it (for Flink's BulkWriter#finish). */
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
