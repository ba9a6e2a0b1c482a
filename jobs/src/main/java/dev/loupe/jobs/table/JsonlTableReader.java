package dev.loupe.jobs.table;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a JSONL file (one JSON object per line; blank lines skipped). The columns are the union of the objects'
 * keys in order of first appearance, typed by a first pass over the file: only booleans → BOOLEAN, only integers
 * → LONG, integers and decimals → DOUBLE, only strings → STRING, anything else (objects, arrays, mixed kinds) →
 * JSON (the value's JSON text). Nulls and missing keys read as null. The second pass streams the rows.
 */
public final class JsonlTableReader implements TableReader {

    private final BufferedReader in;
    private final TableSchema schema;
    private int line;

    public JsonlTableReader(Path file) throws IOException {
        this.schema = inferSchema(file);
        this.in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
    }

    @Override
    public TableSchema schema() {
        return schema;
    }

    @Override
    public TableRow read() throws IOException {
        JsonNode node;
        do {
            String text = in.readLine();
            if (text == null) {
                return null;
            }
            line++;
            node = text.isBlank() ? null : object(text, line);
        } while (node == null);
        Object[] values = new Object[schema.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = value(schema.column(i).type(), node.get(schema.column(i).name()));
        }
        return TableRow.of(values);
    }

    private static Object value(ColumnType type, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        return switch (type) {
            case BOOLEAN -> node.booleanValue();
            case LONG -> node.longValue();
            case DOUBLE -> node.doubleValue();
            case STRING -> node.textValue();
            default -> node.toString();
        };
    }

    private static TableSchema inferSchema(Path file) throws IOException {
        Map<String, Kinds> kinds = new LinkedHashMap<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String text;
            int line = 0;
            while ((text = in.readLine()) != null) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                Iterator<Map.Entry<String, JsonNode>> fields = object(text, line).fields();
                while (fields.hasNext()) {
                    Map.Entry<String, JsonNode> field = fields.next();
                    kinds.computeIfAbsent(field.getKey(), k -> new Kinds()).see(field.getValue());
                }
            }
        }
        return TableSchema.of(kinds.entrySet().stream()
                .map(e -> Column.of(e.getKey(), e.getValue().type())).toList());
    }

    private static JsonNode object(String text, int line) throws IOException {
        JsonNode node;
        try {
            node = TableValues.JSON.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException("JSONL line " + line + " is not JSON: " + e.getOriginalMessage(), e);
        }
        if (!node.isObject()) {
            throw new IOException("JSONL line " + line + " is not a JSON object");
        }
        return node;
    }

    /** The kinds of JSON value a column has held. */
    private static final class Kinds {
        boolean bool;
        boolean integer;
        boolean decimal;
        boolean text;
        boolean other;

        void see(JsonNode value) {
            if (value.isNull()) {
                return;
            }
            if (value.isBoolean()) {
                bool = true;
            } else if (value.isIntegralNumber() && value.canConvertToLong()) {
                integer = true;
            } else if (value.isNumber()) {
                decimal = true;
            } else if (value.isTextual()) {
                text = true;
            } else {
                other = true;
            }
        }

        ColumnType type() {
            List<Boolean> seen = List.of(bool, integer || decimal, text, other);
            long kinds = seen.stream().filter(b -> b).count();
            if (kinds == 0 || (kinds == 1 && text)) {
                return ColumnType.STRING;
            }
            if (kinds > 1 || other) {
                return ColumnType.JSON;
            }
            if (bool) {
                return ColumnType.BOOLEAN;
            }
            return decimal ? ColumnType.DOUBLE : ColumnType.LONG;
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
