package dev.loupe.jobs.table;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key-value metadata {@link ParquetTableWriter} writes: the table's own ({@link TableSchema#metadata()}, e.g. a
 * Parquet input's), less what described the file it came from rather than its data, with the Hugging Face features
 * kept in step with the columns ({@link HuggingFaceFeatures}). Dropped: {@code ARROW:schema} (pyarrow's Arrow schema
 * of the input: it lacks any added column and pyarrow would trust it over the file's own schema; without it pyarrow
 * reads the types from the Parquet schema), {@code content_defined_chunking} (how pyarrow cut the input's pages,
 * untrue of the new file) and parquet-avro's own keys, which the writer sets afresh. Other keys (e.g.
 * {@code pandas}) are kept: readers tolerate added columns in them.
 */
final class ParquetFooterMetadata {

    private static final Set<String> DROPPED = Set.of("ARROW:schema", "content_defined_chunking",
            "parquet.avro.schema", "avro.schema", "writer.model.name");

    private ParquetFooterMetadata() {}

    static Map<String, String> forWriting(TableSchema schema) {
        Map<String, String> out = new LinkedHashMap<>();
        schema.metadata().forEach((key, value) -> {
            if (!DROPPED.contains(key)) {
                out.put(key, key.equals(HuggingFaceFeatures.KEY) ? HuggingFaceFeatures.declare(value, schema) : value);
            }
        });
        return out;
    }
}
