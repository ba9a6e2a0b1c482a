package dev.loupe.jobs.table;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.TreeMap;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroSchemaConverter;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.LocalInputFile;

/**
 * Reads a Parquet file row by row through parquet-avro. Each column keeps its Avro field schema, so that
 * {@link ParquetTableWriter} writes the same types back; strings read as {@link String}, bytes as {@code byte[]},
 * other types as parquet-avro's generic values ({@link ColumnType#NATIVE}). The footer's key-value metadata is the
 * schema's {@link TableSchema#metadata()}.
 */
public final class ParquetTableReader implements TableReader {

    private final ParquetReader<GenericRecord> reader;
    private final TableSchema schema;
    private GenericRecord first;

    public ParquetTableReader(Path file) throws IOException {
        this(new LocalInputFile(file));
    }

    public ParquetTableReader(InputFile file) throws IOException {
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        // a three-level list (list / element, as pyarrow writes it) is a list of its elements, not of records
        conf.setBoolean(AvroSchemaConverter.ADD_LIST_ELEMENT_RECORDS, false);
        this.reader = AvroParquetReader.<GenericRecord>builder(file, conf)
                .withDataModel(GenericData.get())
                .build();
        this.first = reader.read();
        try (var parquet = org.apache.parquet.hadoop.ParquetFileReader.open(file)) {
            var footer = parquet.getFooter().getFileMetaData();
            TableSchema columns;
            if (first != null) {
                columns = ParquetSchemas.fromAvro(first.getSchema());
            } else {
                String stored = footer.getKeyValueMetaData().get("parquet.avro.schema");
                columns = ParquetSchemas.fromAvro(stored != null ? new org.apache.avro.Schema.Parser().parse(stored)
                        : new AvroSchemaConverter(conf).convert(footer.getSchema()));
            }
            this.schema = columns.withMetadata(new TreeMap<>(footer.getKeyValueMetaData()));
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    @Override
    public TableSchema schema() {
        return schema;
    }

    @Override
    public TableRow read() throws IOException {
        GenericRecord record = first != null ? first : reader.read();
        first = null;
        if (record == null) {
            return null;
        }
        Object[] values = new Object[schema.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = value(schema.column(i).type(), record.get(i));
        }
        return TableRow.of(values);
    }

    private static Object value(ColumnType type, Object value) {
        if (value == null) {
            return null;
        }
        return switch (type) {
            case STRING -> value.toString();
            case BYTES -> {
                ByteBuffer buffer = ((ByteBuffer) value).duplicate();
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                yield bytes;
            }
            default -> value;
        };
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
