package dev.loupe.jobs.table;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Keeps the {@code huggingface} Parquet metadata of a Hugging Face dataset true to the columns written: the
 * {@code datasets} library reads a column's feature (an {@code Image}, a {@code ClassLabel}, ...) from
 * {@code {"info": {"features": {COLUMN: FEATURE, ...}}}} and falls back to a plain type inferred from Arrow when a
 * column has none. Columns written from the input keep their feature; a column the input did not have (one an
 * enrichment adds) is declared as the {@code Value} {@code datasets} itself writes for its type; features of columns
 * no longer written are dropped. Everything else in the JSON is kept as it is.
 */
final class HuggingFaceFeatures {

    /** The Parquet key-value metadata key {@code datasets} writes its features under. */
    static final String KEY = "huggingface";

    private HuggingFaceFeatures() {}

    /**
     * {@code json} with its features matching {@code schema}'s columns; {@code json} as it is when it has no
     * features object (or is not JSON), which {@code datasets} treats as no features.
     */
    static String declare(String json, TableSchema schema) {
        JsonNode root;
        try {
            root = TableValues.JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return json;
        }
        JsonNode features = root == null ? null : root.path("info").get("features");
        if (!(features instanceof ObjectNode declared)) {
            return json;
        }
        List<String> stale = new ArrayList<>();
        for (Iterator<String> names = declared.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!schema.has(name)) {
                stale.add(name);
            }
        }
        declared.remove(stale);
        for (Column column : schema.columns()) {
            String dtype = dtype(column.type());
            if (!declared.has(column.name()) && dtype != null) {
                declared.putObject(column.name()).put("dtype", dtype).put("_type", "Value");
            }
        }
        return root.toString();
    }

    /** The {@code datasets} {@code Value} dtype of a column type (null for NATIVE: left to Arrow inference). */
    static String dtype(ColumnType type) {
        return switch (type) {
            case STRING, JSON -> "string";
            case BOOLEAN -> "bool";
            case INT -> "int32";
            case LONG -> "int64";
            case FLOAT -> "float32";
            case DOUBLE -> "float64";
            case BYTES -> "binary";
            case NATIVE -> null;
        };
    }
}
