package dev.loupe.jobs.table;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TableRoundTripTest {

    @TempDir
    Path dir;

    private static final TableSchema TYPED = TableSchema.of(
            Column.string("image"), Column.of("width", ColumnType.INT), Column.of("id", ColumnType.LONG),
            Column.of("weight", ColumnType.FLOAT), Column.of("score", ColumnType.DOUBLE),
            Column.of("ok", ColumnType.BOOLEAN), Column.of("blob", ColumnType.BYTES));

    private static final List<TableRow> TYPED_ROWS = List.of(
            TableRow.of("a.png", 32, 1L, 0.5f, 0.25, true, new byte[] {1, 2, 3}),
            TableRow.of("b, \"quoted\".png", null, 2L, null, -1.5, false, null),
            TableRow.of(null, 7, null, 2f, null, null, new byte[0]));

    @Test
    void csvQuotesAndKeepsNullApartFromEmpty() throws IOException {
        Path file = dir.resolve("t.csv");
        TableSchema schema = TableSchema.of(Column.string("image"), Column.string("note"));
        List<TableRow> rows = List.of(
                TableRow.of("plain.png", "comma, inside"),
                TableRow.of("q\"uote.png", "two\r\nlines\nhere"),
                TableRow.of("", null),
                TableRow.of("ünïcode ✓", " spaced "));
        write(file, schema, rows);
        assertThat(Files.readString(file)).startsWith("image,note\r\nplain.png,\"comma, inside\"\r\n")
                .contains("\"q\"\"uote.png\"").contains("\"\",\r\n");
        assertThat(readAll(file)).isEqualTo(new Table(schema, rows));
    }

    @Test
    void csvReadsWhatOtherToolsWrite() throws IOException {
        Path file = dir.resolve("other.csv");
        Files.writeString(file, "\uFEFFpath,label\nx.jpg,cat\n\n\"y.jpg\",\"a \"\"dog\"\"\"\n");
        assertThat(readAll(file).rows()).containsExactly(TableRow.of("x.jpg", "cat"), TableRow.of("y.jpg", "a \"dog\""));
        Files.writeString(file, "path,label\nx.jpg\n");
        assertThatThrownBy(() -> readAll(file)).hasMessageContaining("CSV line 2 has 1 fields, the header has 2");
        Files.writeString(file, "path,label\n\"x.jpg,cat\n");
        assertThatThrownBy(() -> readAll(file)).hasMessageContaining("not closed");
    }

    @Test
    void jsonlInfersTypesAndRoundTrips() throws IOException {
        Path file = dir.resolve("t.jsonl");
        Files.writeString(file, """
                {"image": "a.png", "n": 1, "x": 1, "ok": true, "tags": ["a", "b"], "mixed": 1}
                {"image": "b.png", "n": 2, "x": 2.5, "ok": null, "tags": [], "mixed": "one", "late": "z"}

                {"image": null, "n": 3}
                """);
        Table table = readAll(file);
        assertThat(table.schema().columns()).extracting(Column::type).containsExactly(ColumnType.STRING,
                ColumnType.LONG, ColumnType.DOUBLE, ColumnType.BOOLEAN, ColumnType.JSON, ColumnType.JSON,
                ColumnType.STRING);
        assertThat(table.rows().get(0)).isEqualTo(TableRow.of("a.png", 1L, 1.0, true, "[\"a\",\"b\"]", "1", null));
        Path copy = dir.resolve("copy.jsonl");
        write(copy, table.schema(), table.rows());
        assertThat(Files.readAllLines(copy).get(1)).isEqualTo(
                "{\"image\":\"b.png\",\"n\":2,\"x\":2.5,\"ok\":null,\"tags\":[],\"mixed\":\"one\",\"late\":\"z\"}");
        assertThat(readAll(copy)).isEqualTo(table);
        write(copy, TYPED, TYPED_ROWS);
        assertThat(Files.readAllLines(copy).get(0)).isEqualTo(
                "{\"image\":\"a.png\",\"width\":32,\"id\":1,\"weight\":0.5,\"score\":0.25,\"ok\":true,\"blob\":\"AQID\"}");
    }

    @Test
    void parquetKeepsColumnTypes() throws IOException {
        Path file = dir.resolve("t.parquet");
        write(file, TYPED, TYPED_ROWS);
        Table back = readAll(file);
        assertThat(back.schema().columns()).extracting(Column::type)
                .containsExactlyElementsOf(TYPED.columns().stream().map(Column::type).toList());
        assertThat(back.rows()).isEqualTo(TYPED_ROWS);
        // a column read from Parquet is written back with its own type, logical types included
        Path again = dir.resolve("again.parquet");
        write(again, back.schema().with(List.of(Column.string("caption"))),
                back.rows().stream().map(r -> r.with("c")).toList());
        Table third = readAll(again);
        assertThat(third.schema().columns().subList(0, TYPED.size())).isEqualTo(back.schema().columns());
        assertThat(third.rows().get(2)).isEqualTo(TYPED_ROWS.get(2).with("c"));
    }

    @Test
    void parquetLogicalAndNestedTypesSurvive() throws IOException {
        Schema timestamp = LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
        Schema list = Schema.createArray(Schema.create(Schema.Type.STRING));
        TableSchema schema = TableSchema.of(Column.string("image"),
                new Column("taken", ColumnType.NATIVE, timestamp.toString()),
                new Column("labels", ColumnType.NATIVE, list.toString()));
        Path file = dir.resolve("native.parquet");
        write(file, schema, List.of(TableRow.of("a.png", 1_700_000_000_000L, List.of("cat", "pet"))));
        Path copy = dir.resolve("copy.parquet");
        Table back = readAll(file);
        write(copy, back.schema(), back.rows());
        Table again = readAll(copy);
        assertThat(again.schema()).isEqualTo(back.schema());
        assertThat(again.schema().column(1).nativeSchema()).contains("timestamp-millis");
        assertThat(again.rows().get(0).get(1)).isEqualTo(1_700_000_000_000L);
        assertThat(again.rows().get(0).get(2).toString()).isEqualTo("[cat, pet]");
        Path jsonl = dir.resolve("native.jsonl");
        write(jsonl, again.schema(), again.rows());
        assertThat(Files.readString(jsonl).trim())
                .isEqualTo("{\"image\":\"a.png\",\"taken\":1700000000000,\"labels\":[\"cat\",\"pet\"]}");
    }

    @Test
    void bulkWriterLeavesTheStreamOpenAndWritesACompleteTable() throws IOException {
        for (TableFormat format : TableFormat.values()) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            TableWriter writer = Tables.create(bytes, format, TYPED);
            for (TableRow row : TYPED_ROWS) {
                writer.write(row);
            }
            writer.close();
            Path file = dir.resolve("stream." + format.extension());
            Files.write(file, bytes.toByteArray());
            Table back = readAll(file);
            assertThat(back.rows()).hasSize(3);
            if (format == TableFormat.PARQUET) {
                assertThat(back.rows()).isEqualTo(TYPED_ROWS);
            }
        }
        ByteArrayOutputStream encoded = new ByteArrayOutputStream();
        Tables.jsonlEncoder(TYPED).encode(TYPED_ROWS.get(1), encoded);
        assertThat(encoded.toString(StandardCharsets.UTF_8)).isEqualTo("{\"image\":\"b, \\\"quoted\\\".png\","
                + "\"width\":null,\"id\":2,\"weight\":null,\"score\":-1.5,\"ok\":false,\"blob\":null}\n");
    }

    @Test
    void emptyTablesKeepTheirColumns() throws IOException {
        for (TableFormat format : List.of(TableFormat.CSV, TableFormat.PARQUET)) {
            Path file = dir.resolve("empty." + format.extension());
            write(file, TYPED, List.of());
            Table back = readAll(file);
            assertThat(back.rows()).isEmpty();
            assertThat(back.schema().names()).isEqualTo(TYPED.names());
        }
        assertThat(readAll(dir.resolve("empty.parquet")).schema().column(1).type()).isEqualTo(ColumnType.INT);
    }

    @Test
    void formatFromExtensionOrName() {
        assertThat(TableFormat.of(Path.of("a/b.PARQUET"))).isEqualTo(TableFormat.PARQUET);
        assertThat(TableFormat.of(Path.of("b.ndjson"))).isEqualTo(TableFormat.JSONL);
        assertThat(TableFormat.parse("CSV")).isEqualTo(TableFormat.CSV);
        assertThatThrownBy(() -> TableFormat.of(Path.of("table.xlsx"))).hasMessageContaining(".csv, .jsonl or .parquet");
    }

    private record Table(TableSchema schema, List<TableRow> rows) {}

    private static Table readAll(Path file) throws IOException {
        try (TableReader reader = Tables.open(file)) {
            List<TableRow> rows = new ArrayList<>();
            for (TableRow row; (row = reader.read()) != null; ) {
                rows.add(row);
            }
            return new Table(reader.schema(), rows);
        }
    }

    private static void write(Path file, TableSchema schema, List<TableRow> rows) throws IOException {
        try (TableWriter writer = Tables.create(file, schema)) {
            for (TableRow row : rows) {
                writer.write(row);
            }
        }
    }
}
