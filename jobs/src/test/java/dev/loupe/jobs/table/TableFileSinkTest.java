package dev.loupe.jobs.table;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.local.LocalDataOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Tables#bulkWriterFactory} as a Flink {@code FileSink} drives it: create on a part file's stream, add,
 * flush, finish; the sink (not the writer) closes the stream afterwards, and the part is a complete table.
 */
class TableFileSinkTest {

    @TempDir
    Path dir;

    @Test
    void eachFormatsPartFileIsACompleteTable() throws IOException {
        TableSchema schema = TableSchema.of(Column.string("image"), Column.of("n", ColumnType.LONG));
        List<TableRow> rows = new ArrayList<>();
        for (long i = 0; i < 20; i++) {
            rows.add(TableRow.of("img-" + i + ".png", i));
        }
        for (TableFormat format : TableFormat.values()) {
            Path part = dir.resolve("part-0." + format.extension());
            PartStream stream = new PartStream(new LocalDataOutputStream(part.toFile()));
            BulkWriter<TableRow> writer = Tables.bulkWriterFactory(format, schema).create(stream);
            for (TableRow row : rows.subList(0, 10)) {
                writer.addElement(row);
            }
            writer.flush();
            for (TableRow row : rows.subList(10, 20)) {
                writer.addElement(row);
            }
            writer.finish();
            assertThat(stream.closed).as("the sink, not the writer, closes the part").isFalse();
            stream.close();

            List<TableRow> back = new ArrayList<>();
            try (TableReader reader = Tables.open(part)) {
                assertThat(reader.schema().names()).containsExactly("image", "n");
                for (TableRow row; (row = reader.read()) != null; ) {
                    back.add(row);
                }
            }
            if (format == TableFormat.CSV) {   // CSV columns read back as strings
                assertThat(back).extracting(r -> r.get(1)).containsExactlyElementsOf(
                        rows.stream().map(r -> String.valueOf(r.get(1))).toList());
            } else {
                assertThat(back).as("%s", format).isEqualTo(rows);
            }
        }
    }

    /** A part file's stream that records whether it was closed. */
    private static final class PartStream extends FSDataOutputStream {
        private final FSDataOutputStream out;
        boolean closed;

        PartStream(FSDataOutputStream out) {
            this.out = out;
        }

        @Override
        public long getPos() throws IOException {
            return out.getPos();
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void sync() throws IOException {
            out.sync();
        }

        @Override
        public void close() throws IOException {
            closed = true;
            out.close();
        }
    }
}
