package dev.loupe.jobs.table;

import java.io.BufferedInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.core.fs.FSDataOutputStream;

/**
 * Entry point to tables: open a reader or create a writer for a CSV, JSONL or Parquet file (format from the
 * extension or given), or get Flink {@code FileSink} writers for rows. Example:
 * <pre>{@code
 * try (TableReader in = Tables.open(Path.of("images.parquet"));
 *      TableWriter out = Tables.create(Path.of("out.parquet"), in.schema().with(List.of(Column.string("caption"))))) {
 *     for (TableRow row; (row = in.read()) != null; ) out.write(row.with("a cat"));
 * }
 * FileSink.forBulkFormat(dir, Tables.bulkWriterFactory(TableFormat.PARQUET, schema)).build();   // in a job
 * }</pre>
 */
public final class Tables {

    private Tables() {}

    /** Opens {@code file} for reading, its format from its extension. */
    public static TableReader open(Path file) throws IOException {
        return open(file, TableFormat.of(file));
    }

    public static TableReader open(Path file, TableFormat format) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException("no table file " + file);
        }
        return switch (format) {
            case CSV -> new CsvTableReader(new BufferedInputStream(Files.newInputStream(file)));
            case JSONL -> new JsonlTableReader(file);
            case PARQUET -> new ParquetTableReader(file);
        };
    }

    /** Creates (or replaces) {@code file} with the columns of {@code schema}, its format from its extension. */
    public static TableWriter create(Path file, TableSchema schema) throws IOException {
        return create(file, TableFormat.of(file), schema);
    }

    public static TableWriter create(Path file, TableFormat format, TableSchema schema) throws IOException {
        return switch (format) {
            case CSV -> new CsvTableWriter(Files.newOutputStream(file), schema);
            case JSONL -> new JsonlTableWriter(Files.newOutputStream(file), schema);
            case PARQUET -> new ParquetTableWriter(file, schema);
        };
    }

    /** A writer of {@code format} over {@code out} that leaves {@code out} open when it is closed (it flushes it). */
    public static TableWriter create(OutputStream out, TableFormat format, TableSchema schema) throws IOException {
        OutputStream kept = new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
        return switch (format) {
            case CSV -> new CsvTableWriter(kept, schema);
            case JSONL -> new JsonlTableWriter(kept, schema);
            case PARQUET -> new ParquetTableWriter(new StreamOutputFile(kept), schema);
        };
    }

    /**
     * A Flink {@code BulkWriter} factory writing rows of {@code schema} as {@code format}, one complete table per
     * part file: {@code FileSink.forBulkFormat(dir, Tables.bulkWriterFactory(format, schema))} (parts roll on
     * checkpoints).
     */
    public static BulkWriter.Factory<TableRow> bulkWriterFactory(TableFormat format, TableSchema schema) {
        return new TableBulkWriterFactory(format, schema);
    }

    /** A Flink row {@code Encoder} writing rows of {@code schema} as JSON lines, for {@code FileSink.forRowFormat}. */
    public static Encoder<TableRow> jsonlEncoder(TableSchema schema) {
        return (row, stream) -> {
            stream.write(JsonlTableWriter.line(schema, row).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            stream.write('\n');
        };
    }

    /** The BulkWriter factory; serializable as Flink requires. */
    private record TableBulkWriterFactory(TableFormat format, TableSchema schema)
            implements BulkWriter.Factory<TableRow> {
        @Override
        public BulkWriter<TableRow> create(FSDataOutputStream out) throws IOException {
            TableWriter writer = Tables.create(out, format, schema);
            return new BulkWriter<>() {
                @Override
                public void addElement(TableRow row) throws IOException {
                    writer.write(row);
                }

                @Override
                public void flush() throws IOException {
                    if (writer instanceof CsvTableWriter csv) {
                        csv.flush();
                    } else if (writer instanceof JsonlTableWriter jsonl) {
                        jsonl.flush();
                    }
                }

                @Override
                public void finish() throws IOException {
                    writer.close();
                }
            };
        }
    }
}
