package dev.loupe.jobs.table;

/**
 * The type of a table column, and so the Java class of its non-null values: STRING {@link String}, BOOLEAN
 * {@link Boolean}, INT {@link Integer}, LONG {@link Long}, FLOAT {@link Float}, DOUBLE {@link Double}, BYTES
 * {@code byte[]}, JSON a {@link String} holding JSON text (nested or mixed-type JSONL values), NATIVE a value of
 * a Parquet column whose type has no plainer form here (logical, nested or fixed types), held as the Avro object
 * parquet-avro reads and written back unchanged with the column's own schema.
 */
public enum ColumnType {
    STRING, BOOLEAN, INT, LONG, FLOAT, DOUBLE, BYTES, JSON, NATIVE
}
