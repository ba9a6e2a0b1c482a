package dev.loupe.jobs.table;

import java.nio.file.Path;
import java.util.Locale;

/** The table file formats Loupe reads and writes; picked from a file name's extension or named explicitly. */
public enum TableFormat {
    /** Comma-separated values with a header row, RFC 4180 quoting; every column is a string. */
    CSV,
    /** One JSON object per line; column types are inferred from the values. */
    JSONL,
    /** Apache Parquet; column types (logical and nested ones included) are kept as they are. */
    PARQUET;

    /**
     * The format named by {@code name} ({@code csv}, {@code jsonl}/{@code ndjson}/{@code json}, {@code parquet},
     * any case).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static TableFormat parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "csv" -> CSV;
            case "jsonl", "ndjson", "json" -> JSONL;
            case "parquet", "pq" -> PARQUET;
            default -> throw new IllegalArgumentException(
                    "unknown table format '" + name + "' (expected csv, jsonl or parquet)");
        };
    }

    /**
     * The format of {@code file} from its extension ({@code .csv}, {@code .jsonl}, {@code .ndjson}, {@code .json},
     * {@code .parquet}, {@code .pq}).
     *
     * @throws IllegalArgumentException when the extension names no format
     */
    public static TableFormat of(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        if (dot < 0) {
            throw new IllegalArgumentException("cannot tell the table format of " + file
                    + " from its name: use a .csv, .jsonl or .parquet extension or name the format");
        }
        try {
            return parse(name.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot tell the table format of " + file
                    + " from its extension: use .csv, .jsonl or .parquet or name the format", e);
        }
    }

    /** The usual file extension, without the dot. */
    public String extension() {
        return name().toLowerCase(Locale.ROOT);
    }
}
