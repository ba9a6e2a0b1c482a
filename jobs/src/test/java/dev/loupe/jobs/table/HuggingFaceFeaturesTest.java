package dev.loupe.jobs.table;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Parquet footer metadata a table is written with, and the Hugging Face features kept true to its columns. */
class HuggingFaceFeaturesTest {

    private static final String FEATURES = "{\"info\": {\"features\": {\"image\": {\"_type\": \"Image\"}, "
            + "\"gone\": {\"dtype\": \"int64\", \"_type\": \"Value\"}}, \"description\": \"kept\"}}";

    @Test
    void addedColumnsAreDeclaredAsDatasetsWritesThemAndDroppedOnesForgotten() {
        TableSchema schema = TableSchema.of(new Column("image", ColumnType.NATIVE, "\"bytes\""),
                Column.string("caption"), Column.of("scores", ColumnType.JSON), Column.of("ok", ColumnType.BOOLEAN),
                Column.of("n", ColumnType.INT), Column.of("id", ColumnType.LONG), Column.of("w", ColumnType.FLOAT),
                Column.of("x", ColumnType.DOUBLE), Column.of("raw", ColumnType.BYTES),
                new Column("taken", ColumnType.NATIVE, "\"long\""));

        String json = HuggingFaceFeatures.declare(FEATURES, schema);

        assertThat(json).isEqualTo("{\"info\":{\"features\":{\"image\":{\"_type\":\"Image\"},"
                + "\"caption\":{\"dtype\":\"string\",\"_type\":\"Value\"},"
                + "\"scores\":{\"dtype\":\"string\",\"_type\":\"Value\"},"
                + "\"ok\":{\"dtype\":\"bool\",\"_type\":\"Value\"},"
                + "\"n\":{\"dtype\":\"int32\",\"_type\":\"Value\"},"
                + "\"id\":{\"dtype\":\"int64\",\"_type\":\"Value\"},"
                + "\"w\":{\"dtype\":\"float32\",\"_type\":\"Value\"},"
                + "\"x\":{\"dtype\":\"float64\",\"_type\":\"Value\"},"
                + "\"raw\":{\"dtype\":\"binary\",\"_type\":\"Value\"}},"
                + "\"description\":\"kept\"}}");
        assertThat(HuggingFaceFeatures.declare("not json", schema)).isEqualTo("not json");
        assertThat(HuggingFaceFeatures.declare("{\"info\": {}}", schema)).isEqualTo("{\"info\": {}}");
    }

    @Test
    void theFooterKeepsTheTablesMetadataButNotWhatDescribedTheInputFile() {
        TableSchema schema = TableSchema.of(Column.string("image"), Column.string("caption")).withMetadata(Map.of(
                "huggingface", "{\"info\": {\"features\": {\"image\": {\"_type\": \"Image\"}}}}",
                "ARROW:schema", "stale", "content_defined_chunking", "{}", "parquet.avro.schema", "{}",
                "writer.model.name", "avro", "pandas", "{\"columns\": []}", "other", "x"));

        Map<String, String> footer = ParquetFooterMetadata.forWriting(schema);

        assertThat(footer).containsOnlyKeys("huggingface", "pandas", "other");
        assertThat(footer.get("huggingface")).contains("\"caption\":{\"dtype\":\"string\",\"_type\":\"Value\"}");
        assertThat(footer.get("pandas")).isEqualTo("{\"columns\": []}");
    }
}
