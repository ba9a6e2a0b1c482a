package dev.loupe.jobs.table;

import java.io.Serializable;
import java.util.Objects;

/**
 * One column of a {@link TableSchema}: its name, its {@link ColumnType} and, for a column read from Parquet, the
 * exact Avro schema of the field (JSON text) so that writing Parquet again gives it the same physical and logical
 * type. {@code nativeSchema} is null for columns that did not come from Parquet.
 */
public record Column(String name, ColumnType type, String nativeSchema) implements Serializable {

    public Column {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a column name must not be empty");
        }
        if (type == ColumnType.NATIVE && nativeSchema == null) {
            throw new IllegalArgumentException("NATIVE column " + name + " needs its Avro schema");
        }
    }

    /** A nullable column of {@code type} with no Parquet schema of its own. */
    public static Column of(String name, ColumnType type) {
        return new Column(name, type, null);
    }

    /** A nullable string column. */
    public static Column string(String name) {
        return of(name, ColumnType.STRING);
    }
}
