package dev.loupe.jobs.table;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ordered, uniquely named columns of a table ({@link TableRow} values are in this order) and the table file's
 * key-value metadata (a Parquet footer's, e.g. the {@code huggingface} features a Hugging Face dataset keeps there),
 * which travels with the columns so that a table written back keeps it.
 */
public final class TableSchema implements Serializable {

    private static final long serialVersionUID = 1L;

    private final List<Column> columns;
    private final Map<String, Integer> indexByName;
    private final Map<String, String> metadata;

    private TableSchema(List<Column> columns, Map<String, String> metadata) {
        this.columns = List.copyOf(columns);
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < this.columns.size(); i++) {
            if (index.put(this.columns.get(i).name(), i) != null) {
                throw new IllegalArgumentException("duplicate column name '" + this.columns.get(i).name() + "'");
            }
        }
        this.indexByName = Collections.unmodifiableMap(index);
    }

    public static TableSchema of(List<Column> columns) {
        return new TableSchema(columns, Map.of());
    }

    public static TableSchema of(Column... columns) {
        return new TableSchema(List.of(columns), Map.of());
    }

    /** The file's key-value metadata, in file order; empty for formats without any (CSV, JSONL). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** These columns with {@code metadata} in place of this schema's. */
    public TableSchema withMetadata(Map<String, String> metadata) {
        return new TableSchema(columns, metadata);
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

    /** This schema with {@code extra} appended, e.g. the columns an enrichment adds; the metadata is kept. */
    public TableSchema with(List<Column> extra) {
        List<Column> all = new ArrayList<>(columns);
        all.addAll(extra);
        return new TableSchema(all, metadata);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableSchema other && columns.equals(other.columns) && metadata.equals(other.metadata);
    }

    @Override
    public int hashCode() {
        return columns.hashCode() * 31 + metadata.hashCode();
    }

    @Override
    public String toString() {
        return metadata.isEmpty() ? columns.toString() : columns + " " + metadata.keySet();
    }
}
