package dev.loupe.jobs.table;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * Writes CSV per RFC 4180: a header row, CRLF line ends, a field quoted when it holds a comma, a quote, a line
 * break or nothing at all (so that an empty string and a null, written as an unquoted empty field, stay apart
 * when {@link CsvTableReader} reads the file back). Non-string values are written as text ({@link TableValues}).
 */
public final class CsvTableWriter implements TableWriter {

    private final Writer out;
    private final TableSchema schema;

    public CsvTableWriter(OutputStream out, TableSchema schema) throws IOException {
        this.out = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        this.schema = schema;
        for (int i = 0; i < schema.size(); i++) {
            if (i > 0) {
                this.out.write(',');
            }
            writeField(schema.column(i).name());
        }
        this.out.write("\r\n");
    }

    @Override
    public void write(TableRow row) throws IOException {
        TableValues.checkArity(schema, row);
        for (int i = 0; i < schema.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            Object value = row.get(i);
            if (value != null) {
                writeField(TableValues.toText(schema.column(i), value));
            }
        }
        out.write("\r\n");
    }

    private void writeField(String text) throws IOException {
        boolean quote = text.isEmpty();
        for (int i = 0; i < text.length() && !quote; i++) {
            char c = text.charAt(i);
            quote = c == ',' || c == '"' || c == '\r' || c == '\n';
        }
        if (!quote) {
            out.write(text);
            return;
        }
        out.write('"');
        out.write(text.replace("\"", "\"\""));
        out.write('"');
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
