package dev.loupe.jobs.table;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One row of a table: its values in the order of the table's {@link TableSchema}, null where empty. Value
 * classes follow {@link ColumnType}. Rows hold no schema of their own so that they stay small in Flink streams.
 */
public final class TableRow implements Serializable {

    private static final long serialVersionUID = 1L;

    private final Object[] values;

    private TableRow(Object[] values) {
        this.values = values;
    }

    public static TableRow of(Object... values) {
        return new TableRow(values.clone());
    }

    public int size() {
        return values.length;
    }

    public Object get(int index) {
        return values[index];
    }

    /** The value of column {@code name} in {@code schema}. */
    public Object get(TableSchema schema, String name) {
        return values[schema.indexOf(name)];
    }

    /** This row with {@code extra} values appended (for the columns a {@link TableSchema#with} appended). */
    public TableRow with(Object... extra) {
        Object[] all = Arrays.copyOf(values, values.length + extra.length);
        System.arraycopy(extra, 0, all, values.length, extra.length);
        return new TableRow(all);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableRow other && Arrays.deepEquals(values, other.values);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(values);
    }

    @Override
    public String toString() {
        return Arrays.deepToString(values);
    }
}
