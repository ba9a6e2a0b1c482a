package dev.loupe.jobs.table;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * Maps between a {@link TableSchema} and the Avro record schema parquet-avro reads and writes. A column read from
 * Parquet carries its field's Avro schema ({@link Column#nativeSchema()}) and gets it back on writing, so its
 * Parquet type survives; other columns become nullable Avro primitives (JSON as a string).
 */
final class ParquetSchemas {

    private static final String RECORD_NAME = "row";

    private ParquetSchemas() {}

    static Schema toAvro(TableSchema schema) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Column column : schema.columns()) {
            Schema type = column.nativeSchema() != null
                    ? new Schema.Parser().parse(column.nativeSchema())
                    : Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(primitive(column.type())));
            try {
                fields.add(new Schema.Field(column.name(), type, null, type.isNullable() ? Schema.Field.NULL_DEFAULT_VALUE : null));
            } catch (SchemaParseException e) {
                throw new IllegalArgumentException("column name '" + column.name() + "' cannot be a Parquet column "
                        + "here: use letters, digits and _ (not starting with a digit)", e);
            }
        }
        return Schema.createRecord(RECORD_NAME, null, null, false, fields);
    }

    static TableSchema fromAvro(Schema record) {
        List<Column> columns = new ArrayList<>();
        for (Schema.Field field : record.getFields()) {
            columns.add(new Column(field.name(), typeOf(field.schema()), field.schema().toString()));
        }
        return TableSchema.of(columns);
    }

    private static ColumnType typeOf(Schema schema) {
        Schema plain = schema;
        if (schema.getType() == Schema.Type.UNION) {
            List<Schema> nonNull = schema.getTypes().stream().filter(s -> s.getType() != Schema.Type.NULL).toList();
            if (nonNull.size() != 1) {
                return ColumnType.NATIVE;
            }
            plain = nonNull.get(0);
        }
        if (plain.getLogicalType() != null) {
            return ColumnType.NATIVE;
        }
        return switch (plain.getType()) {
            case STRING -> ColumnType.STRING;
            case BOOLEAN -> ColumnType.BOOLEAN;
            case INT -> ColumnType.INT;
            case LONG -> ColumnType.LONG;
            case FLOAT -> ColumnType.FLOAT;
            case DOUBLE -> ColumnType.DOUBLE;
            case BYTES -> ColumnType.BYTES;
            default -> ColumnType.NATIVE;
        };
    }

    private static Schema.Type primitive(ColumnType type) {
        return switch (type) {
            case STRING, JSON -> Schema.Type.STRING;
            case BOOLEAN -> Schema.Type.BOOLEAN;
            case INT -> Schema.Type.INT;
            case LONG -> Schema.Type.LONG;
            case FLOAT -> Schema.Type.FLOAT;
            case DOUBLE -> Schema.Type.DOUBLE;
            case BYTES -> Schema.Type.BYTES;
            case NATIVE -> throw new IllegalArgumentException("a NATIVE column needs its own schema");
        };
    }
}
