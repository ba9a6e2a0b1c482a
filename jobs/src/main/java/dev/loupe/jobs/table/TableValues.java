package dev.loupe.jobs.table;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import org.apache.avro.generic.GenericData;

/** Conversions of column values to text (CSV) and JSON (JSONL), shared by the writers. */
final class TableValues {

    static final ObjectMapper JSON = new ObjectMapper();

    private TableValues() {}

    static void checkArity(TableSchema schema, TableRow row) {
        if (row.size() != schema.size()) {
            throw new IllegalArgumentException("a row with " + row.size() + " values for a table of "
                    + schema.size() + " columns " + schema.names());
        }
    }

    /** A non-null value as CSV text: strings and JSON text as they are, bytes in base64, numbers as Java prints them. */
    static String toText(Column column, Object value) {
        return switch (column.type()) {
            case STRING, JSON -> value.toString();
            case BYTES -> Base64.getEncoder().encodeToString((byte[]) value);
            case NATIVE -> nativeToJson(value).toString();
            default -> String.valueOf(value);
        };
    }

    /** A value as a JSON node (null for null). */
    static JsonNode toJson(Column column, Object value) {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        if (value == null) {
            return nodes.nullNode();
        }
        return switch (column.type()) {
            case STRING -> nodes.textNode(value.toString());
            case BOOLEAN -> nodes.booleanNode((Boolean) value);
            case INT -> nodes.numberNode((Integer) value);
            case LONG -> nodes.numberNode((Long) value);
            case FLOAT -> nodes.numberNode((Float) value);
            case DOUBLE -> nodes.numberNode((Double) value);
            case BYTES -> nodes.textNode(Base64.getEncoder().encodeToString((byte[]) value));
            case JSON -> parse(value.toString());
            case NATIVE -> nativeToJson(value);
        };
    }

    /** An Avro value (record, array, map, fixed, logical type's raw value) as JSON, as Avro prints it. */
    private static JsonNode nativeToJson(Object value) {
        return parse(GenericData.get().toString(value));
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON text: " + json, e);
        }
    }
}
