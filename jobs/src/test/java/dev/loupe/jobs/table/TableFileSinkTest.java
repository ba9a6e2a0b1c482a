package dev.loupe.jobs.table;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rows written by a Flink FileSink through {@link Tables#bulkWriterFactory} and {@link Tables#jsonlEncoder}. */
class TableFileSinkTest {

    @TempDir
    Path dir;

    @Test
    void fileSinkWritesReadableTables() throws Exception {
        TableSchema schema = TableSchema.of(Column.string("image"), Column.of("n", ColumnType.LONG));
        List<TableRow> rows = new ArrayList<>();
        for (long i = 0; i < 20; i++) {
            rows.add(TableRow.of("img-" + i + ".png", i));
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        env.setParallelism(1);
        var stream = env.fromData(rows);
        stream.sinkTo(FileSink.forBulkFormat(new org.apache.flink.core.fs.Path(dir.resolve("parquet").toUri()),
                Tables.bulkWriterFactory(TableFormat.PARQUET, schema)).build());
        stream.sinkTo(FileSink.forRowFormat(new org.apache.flink.core.fs.Path(dir.resolve("jsonl").toUri()),
                Tables.jsonlEncoder(schema)).build());
        env.execute("table-file-sink");

        assertThat(readParts(dir.resolve("parquet"), TableFormat.PARQUET)).containsExactlyInAnyOrderElementsOf(rows);
        assertThat(readParts(dir.resolve("jsonl"), TableFormat.JSONL)).containsExactlyInAnyOrderElementsOf(rows);
    }

    private static List<TableRow> readParts(Path root, TableFormat format) throws IOException {
        List<TableRow> rows = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path part : files.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().startsWith("."))
                    .toList()) {
                try (TableReader reader = Tables.open(part, format)) {
                    for (TableRow row; (row = reader.read()) != null; ) {
                        rows.add(row);
                    }
                }
            }
        }
        return rows;
    }
}
