package dev.loupe.jobs.table;

import java.io.Closeable;
import java.io.IOException;

/**
 * Reads a table's rows one at a time, in file order, without holding the table in memory. Open one with
 * {@link Tables#open}.
 */
public interface TableReader extends Closeable {

    /** The table's columns (known before the first row is read). */
    TableSchema schema();

    /**
     * The next row, or null at the end of the table.
     *
     * @throws IOException when the file cannot be read or is malformed (the message says where)
     */
    TableRow read() throws IOException;
}
