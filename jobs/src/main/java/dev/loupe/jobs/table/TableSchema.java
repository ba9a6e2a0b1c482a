package dev.loupe.jobs.table;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The ordered, uniquely named columns of a table; {@link TableRow} values are in this order. */
public final class TableSchema implements Serializable {

    private static final long serialVersionUID = 1L;

    private final List<Column> columns;
    private final Map<String, Integer> indexByName;

    private TableSchema(List<Column> columns) {
        this.columns = List.copyOf(columns);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < this.columns.size(); i++) {
            if (index.put(this.columns.get(i).name(), i) != null) {
                throw new IllegalArgumentException("duplicate column name '" + this.columns.get(i).name() + "'");
            }
        }
        this.indexByName = Collections.unmodifiableMap(index);
    }

    public static TableSchema of(List<Column> columns) {
        return new TableSchema(columns);
    }

    public static TableSchema of(Column... columns) {
        return new TableSchema(List.of(columns));
    }

    public List<Column> columns() {
        return columns;
    }

    public int size() {
        return columns.size();
    }

    public Column column(int index) {
        return columns.get(index);
    }

    public List<String> names() {
        return columns.stream().map(Column::name).toList();
    }

    public boolean has(String name) {
        return indexByName.containsKey(name);
    }

    /**
     * The position of column {@code name}.
     *
     * @throws IllegalArgumentException when there is no such column (the message lists the columns)
     */
    public int indexOf(String name) {
        Integer index = indexByName.get(name);
        if (index == null) {
            throw new IllegalArgumentException("no column '" + name + "' in the table (columns: "
                    + String.join(", ", names()) + ")");
        }
        return index;
    }

    /** This schema with {@code extra} appended, e.g. the columns an enrichment adds. */
    public TableSchema with(List<Column> extra) {
        List<Column> all = new ArrayList<>(columns);
        all.addAll(extra);
        return new TableSchema(all);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableSchema other && columns.equals(other.columns);
    }

    @Override
    public int hashCode() {
        return columns.hashCode();
    }

    @Override
    public String toString() {
        return columns.toString();
    }
}
