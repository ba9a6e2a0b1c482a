package dev.loupe.jobs.table;

import java.io.Closeable;
import java.io.IOException;

/**
 * Writes rows of one {@link TableSchema} to a table file, streaming; {@link #close()} completes the file (a
 * Parquet file is unreadable until then). Create one with {@link Tables#create}.
 */
public interface TableWriter extends Closeable {

    void write(TableRow row) throws IOException;
}
