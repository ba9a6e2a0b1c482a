package dev.loupe.jobs.enrich;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.flink.configuration.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe enrich} with default options on Parquet files written by the Hugging Face {@code datasets} library
 * ({@code fixtures/hf-datasets}, made by its {@code make_fixtures.py}): an {@code Image} column with the bytes
 * embedded, and one holding only paths next to the table. Every row annotated in order, every column kept with its
 * type, and the {@code huggingface} features carried over with the added columns declared.
 */
class HuggingFaceDatasetEnrichTest {

    private static final Path FIXTURES = Path.of(System.getProperty("loupe.fixtures"), "hf-datasets");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @ParameterizedTest
    @ValueSource(strings = {"embedded.parquet", "paths.parquet"})
    void aDatasetsParquetIsEnrichedWithDefaultOptionsAndKeepsItsColumnsTypesAndFeatures(String fixture)
            throws Exception {
        Path input = FIXTURES.resolve(fixture);
        Path output = dir.resolve("out.parquet");
        String counter = "hf-" + UUID.randomUUID();

        EnrichJob.Report report = run(config(input, output), counter);

        assertThat(report.complete()).as(printed()).isTrue();
        assertThat(report.rowsWithErrors()).as(printed()).isZero();
        // four rows, three distinct images: the repeated one (same bytes, or same file) is annotated once
        assertThat(CountingAnnotatorFactory.annotated(counter)).isEqualTo(3);
        Table in = Table.read(input);
        Table out = Table.read(output);
        int n = in.schema().size();
        assertThat(out.schema().names()).containsExactlyElementsOf(
                concat(in.schema().names(), List.of("caption", "error")));
        assertThat(out.schema().columns().subList(0, n)).isEqualTo(in.schema().columns());
        assertThat(out.schema().column(0).type()).isEqualTo(ColumnType.NATIVE);   // the struct stays a struct
        assertThat(out.schema().column(0).nativeSchema()).contains("\"bytes\"").contains("\"path\"");
        assertThat(out.rows()).hasSameSizeAs(in.rows()).hasSize(4);
        for (int i = 0; i < in.rows().size(); i++) {
            TableRow row = out.rows().get(i);
            for (int c = 0; c < n; c++) {
                assertThat(row.get(c)).as("row %d column %s", i, in.schema().column(c).name())
                        .isEqualTo(in.rows().get(i).get(c));
            }
            assertThat((String) row.get(n)).isEqualTo("echo: A short image description:");
            assertThat(row.get(n + 1)).isNull();
        }
        assertThat(out.rows()).extracting(r -> r.get(1)).containsExactly(10L, 11L, 12L, 13L);
        assertThat(out.rows().get(1).get(4)).hasToString("[cool, leafy]");   // a list of strings, as datasets wrote it
        // the Parquet types of the input's columns are written back exactly (struct, three-level list, float ...)
        MessageType written = parquetSchema(output);
        MessageType read = parquetSchema(input);
        for (String name : in.schema().names()) {
            assertThat(written.getType(name)).as(name).isEqualTo(read.getType(name));
        }

        assertThat(out.schema().metadata()).doesNotContainKeys("ARROW:schema", "content_defined_chunking");
        JsonNode features = JSON.readTree(out.schema().metadata().get("huggingface")).get("info").get("features");
        JsonNode inputFeatures = JSON.readTree(in.schema().metadata().get("huggingface")).get("info").get("features");
        for (String name : in.schema().names()) {
            assertThat(features.get(name)).as(name).isEqualTo(inputFeatures.get(name));
        }
        assertThat(features.get("image").get("_type").asText()).isEqualTo("Image");
        assertThat(features.get("kind").get("_type").asText()).isEqualTo("ClassLabel");
        for (String added : List.of("caption", "error")) {
            assertThat(features.get(added)).as(added)
                    .isEqualTo(JSON.readTree("{\"dtype\": \"string\", \"_type\": \"Value\"}"));
        }
        List<String> keys = new ArrayList<>();
        features.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactlyElementsOf(out.schema().names());

        // the journal keys embedded images by their content hash: a second run finds every image there
        EnrichJob.Report again = run(config(input, output), counter);
        assertThat(again.requests()).isZero();
        assertThat(again.reused()).isEqualTo(4);
        assertThat(CountingAnnotatorFactory.annotated(counter)).isEqualTo(3);
        assertThat(Table.read(output).rows()).isEqualTo(out.rows());
    }

    @Test
    void imageStructsAndBytesWithoutAnImageFailOnlyTheirOwnRows() throws Exception {
        Schema struct = Schema.createRecord("image", null, null, false, List.of(
                new Schema.Field("bytes", nullable(Schema.Type.BYTES), null, Schema.Field.NULL_DEFAULT_VALUE),
                new Schema.Field("path", nullable(Schema.Type.STRING), null, Schema.Field.NULL_DEFAULT_VALUE)));
        Schema column = Schema.createUnion(Schema.create(Schema.Type.NULL), struct);
        TableSchema schema = TableSchema.of(new Column("image", ColumnType.NATIVE, column.toString()),
                Column.of("n", ColumnType.LONG));
        byte[] png = Files.readAllBytes(TestImages.png(dir.resolve("images/a.png"), 1));
        Path absolute = TestImages.png(dir.resolve("images/b.png"), 2);
        Path input = dir.resolve("in.parquet");
        try (TableWriter writer = Tables.create(input, schema)) {
            writer.write(TableRow.of(image(struct, png, "a.png"), 0L));
            writer.write(TableRow.of(null, 1L));
            writer.write(TableRow.of(image(struct, null, null), 2L));
            writer.write(TableRow.of(image(struct, new byte[] {1, 2, 3}, "broken.png"), 3L));
            writer.write(TableRow.of(image(struct, null, absolute.toString()), 4L));
            writer.write(TableRow.of(image(struct, null, "images/missing.png"), 5L));
            writer.write(TableRow.of(image(struct, null, absolute.toUri().toString()), 6L));
        }
        Path output = dir.resolve("out.jsonl");

        EnrichJob.Report report = run(config(input, output), "hf-" + UUID.randomUUID());

        assertThat(report.complete()).as(printed()).isTrue();
        List<String> errors = Table.read(output).rows().stream().map(r -> (String) r.get(3)).toList();
        assertThat(errors.get(0)).isNull();
        assertThat(errors.get(1)).isEqualTo("INVALID_REQUEST: no image reference (the cell is empty)");
        assertThat(errors.get(2)).isEqualTo("INVALID_REQUEST: no image (the struct's bytes and path are both empty)");
        assertThat(errors.get(3)).matches("IMAGE_(CORRUPT|UNSUPPORTED_FORMAT): .*");
        assertThat(errors.get(4)).isNull();
        assertThat(errors.get(5)).startsWith("IMAGE_NOT_FOUND: ");
        assertThat(errors.get(6)).isNull();
        assertThat(report.rowsWithErrors()).isEqualTo(4);
    }

    @Test
    void aBinaryImageColumnIsAnnotatedFromItsBytes() throws Exception {
        byte[] png = Files.readAllBytes(TestImages.png(dir.resolve("a.png"), 1));
        Path input = dir.resolve("bytes.parquet");
        try (TableWriter writer = Tables.create(input, TableSchema.of(Column.of("image", ColumnType.BYTES),
                Column.of("n", ColumnType.LONG)))) {
            writer.write(TableRow.of(png, 0L));
            writer.write(TableRow.of(new byte[0], 1L));
            writer.write(TableRow.of(png.clone(), 2L));
        }
        Path output = dir.resolve("out.parquet");
        String counter = "hf-" + UUID.randomUUID();

        EnrichJob.Report report = run(config(input, output), counter);

        assertThat(report.complete()).as(printed()).isTrue();
        assertThat(CountingAnnotatorFactory.annotated(counter)).isEqualTo(1);   // the same bytes twice
        List<TableRow> rows = Table.read(output).rows();
        assertThat(rows).extracting(r -> r.get(3)).containsExactly(null,
                "INVALID_REQUEST: no image (the cell's bytes are empty)", null);
        assertThat(rows).extracting(r -> r.get(0)).containsExactly(png, new byte[0], png);
        assertThat((String) rows.get(2).get(2)).startsWith("echo: ");
    }

    private static MessageType parquetSchema(Path file) throws IOException {
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file))) {
            return reader.getFooter().getFileMetaData().getSchema();
        }
    }

    private static GenericData.Record image(Schema struct, byte[] bytes, String path) {
        GenericData.Record record = new GenericData.Record(struct);
        record.put("bytes", bytes == null ? null : ByteBuffer.wrap(bytes));
        record.put("path", path);
        return record;
    }

    private static Schema nullable(Schema.Type type) {
        return Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(type));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The options a user gives: model, input and output only (and a short checkpoint interval for the test). */
    private Configuration config(Path input, Path output) throws IOException {
        return EnrichConfigs.userOptions(dir, input, output);
    }

    private EnrichJob.Report run(Configuration config, String counter) throws Exception {
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        return EnrichJob.run(config, new CountingAnnotatorFactory(counter, 0, null),
                new BoundedJobRunner(out, false, Duration.ofSeconds(5), "annotations"), out);
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    private record Table(TableSchema schema, List<TableRow> rows) {
        static Table read(Path file) throws IOException {
            try (TableReader reader = Tables.open(file)) {
                List<TableRow> rows = new ArrayList<>();
                for (TableRow row; (row = reader.read()) != null; ) {
                    rows.add(row);
                }
                return new Table(reader.schema(), rows);
            }
        }
    }
}
