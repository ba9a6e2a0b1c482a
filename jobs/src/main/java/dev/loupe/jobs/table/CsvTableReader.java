package dev.loupe.jobs.table;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads CSV (RFC 4180: comma-separated, fields with commas, quotes or line breaks inside double quotes, a quote
 * inside them doubled; CRLF or LF line ends) whose first record is the header. Every column is a STRING; an
 * unquoted empty field reads as null and a quoted empty field ({@code ""}) as the empty string, the distinction
 * {@link CsvTableWriter} writes. Blank lines are skipped; a record with more or fewer fields than the header is an
 * error naming its line.
 */
public final class CsvTableReader implements TableReader {

    private final Reader in;
    private final TableSchema schema;
    private int line = 1;
    private int peeked = -2;

    public CsvTableReader(InputStream in) throws IOException {
        this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        int first = next();
        if (first != '\uFEFF') {
            peeked = first;
        }
        List<String> header = readRecord();
        if (header == null) {
            throw new IOException("the CSV file is empty: it needs a header row");
        }
        List<Column> columns = new ArrayList<>();
        for (int i = 0; i < header.size(); i++) {
            String name = header.get(i);
            if (name == null || name.isEmpty()) {
                throw new IOException("CSV header column " + (i + 1) + " has no name");
            }
            columns.add(Column.string(name));
        }
        try {
            this.schema = TableSchema.of(columns);
        } catch (IllegalArgumentException e) {
            throw new IOException("CSV header: " + e.getMessage(), e);
        }
    }

    @Override
    public TableSchema schema() {
        return schema;
    }

    @Override
    public TableRow read() throws IOException {
        int startLine = line;
        List<String> fields = readRecord();
        if (fields == null) {
            return null;
        }
        if (fields.size() != schema.size()) {
            throw new IOException("CSV line " + startLine + " has " + fields.size() + " fields, the header has "
                    + schema.size());
        }
        return TableRow.of(fields.toArray());
    }

    /** The next non-blank record's fields, or null at the end of input. */
    private List<String> readRecord() throws IOException {
        while (true) {
            int c = next();
            if (c == -1) {
                return null;
            }
            if (c == '\r' || c == '\n') {
                endLine(c);
                continue;
            }
            peeked = c;
            return fields();
        }
    }

    private List<String> fields() throws IOException {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        while (true) {
            int c = next();
            boolean quoted = false;
            field.setLength(0);
            if (c == '"') {
                quoted = true;
                int quoteLine = line;
                while (true) {
                    c = next();
                    if (c == -1) {
                        throw new IOException("CSV line " + quoteLine + ": a quoted field is not closed");
                    }
                    if (c == '"') {
                        c = next();
                        if (c != '"') {
                            break;
                        }
                    } else if (c == '\n') {
                        line++;
                    }
                    field.append((char) c);
                }
                if (c != ',' && c != '\r' && c != '\n' && c != -1) {
                    throw new IOException("CSV line " + line + ": unexpected '" + (char) c
                            + "' after a closing quote");
                }
            } else {
                while (c != ',' && c != '\r' && c != '\n' && c != -1) {
                    if (c == '"') {
                        throw new IOException("CSV line " + line + ": a quote inside an unquoted field");
                    }
                    field.append((char) c);
                    c = next();
                }
            }
            fields.add(quoted || field.length() > 0 ? field.toString() : null);
            if (c == ',') {
                continue;
            }
            if (c == '\r' || c == '\n') {
                endLine(c);
            }
            return fields;
        }
    }

    private void endLine(int c) throws IOException {
        if (c == '\r') {
            int n = next();
            if (n != '\n') {
                peeked = n;
            }
        }
        line++;
    }

    private int next() throws IOException {
        if (peeked != -2) {
            int c = peeked;
            peeked = -2;
            return c;
        }
        return in.read();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
