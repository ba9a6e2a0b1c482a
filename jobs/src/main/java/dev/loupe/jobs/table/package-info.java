/**
 * Tables for the bounded jobs: streaming readers and writers for CSV (RFC 4180, header row), JSONL and Parquet,
 * rows of typed columns kept as they are (a Parquet input's column types survive into a Parquet output).
 *
 * <ul>
 *   <li>{@link dev.loupe.jobs.table.Tables}: the entry point. {@code open(path)} gives a
 *       {@link dev.loupe.jobs.table.TableReader} ({@code schema()}, then {@code read()} until null);
 *       {@code create(path, schema)} a {@link dev.loupe.jobs.table.TableWriter} ({@code write(row)}, {@code close()}
 *       completes the file); the format comes from the extension ({@link dev.loupe.jobs.table.TableFormat#of}) or
 *       is given. For Flink: {@code bulkWriterFactory(format, schema)} for {@code FileSink.forBulkFormat} (any
 *       format; one complete table per part file) and {@code jsonlEncoder(schema)} for {@code FileSink.forRowFormat}.</li>
 *   <li>{@link dev.loupe.jobs.table.TableSchema}: ordered, uniquely named {@link dev.loupe.jobs.table.Column}s
 *       ({@link dev.loupe.jobs.table.ColumnType} says the Java class of the values); {@code with(columns)} appends.</li>
 *   <li>{@link dev.loupe.jobs.table.TableRow}: the values in schema order, null where empty;
 *       {@code with(values...)} appends.</li>
 *   <li>The schema also carries the file's key-value metadata: a Parquet input's footer entries are written back
 *       (less those that described the input file), and a Hugging Face dataset's {@code huggingface} features are
 *       kept true to the columns written, added ones declared.</li>
 *   <li>{@link dev.loupe.jobs.table.ImageCell}: the image a cell holds, for the bounded jobs: a reference made a URI,
 *       image bytes, or a Hugging Face {@code Image} struct ({@code struct<bytes, path>}).</li>
 * </ul>
 */
package dev.loupe.jobs.table;
