package dev.loupe.jobs.table;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.avro.AvroWriteSupport;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.OutputFile;

/**
 * Writes a Parquet file (Snappy-compressed) through parquet-avro: columns from Parquet get their own types back,
 * the others nullable primitives ({@link ParquetSchemas}); lists in the spec's three-level layout. The schema's
 * metadata goes into the footer ({@link ParquetFooterMetadata}: a Hugging Face dataset's features stay true to the
 * columns). Column names must be Avro names (letters, digits, _).
 */
public final class ParquetTableWriter implements TableWriter {

    private final ParquetWriter<GenericRecord> writer;
    private final TableSchema schema;
    private final Schema avro;

    public ParquetTableWriter(Path file, TableSchema schema) throws IOException {
        this(new LocalOutputFile(file), schema);
    }

    public ParquetTableWriter(OutputFile file, TableSchema schema) throws IOException {
        this.schema = schema;
        this.avro = ParquetSchemas.toAvro(schema);
        PlainParquetConfiguration conf = new PlainParquetConfiguration();
        // lists as the Parquet spec's three levels (list / element), as pyarrow and Spark write and read them
        conf.setBoolean(AvroWriteSupport.WRITE_OLD_LIST_STRUCTURE, false);
        this.writer = AvroParquetWriter.<GenericRecord>builder(file)
                .withConf(conf)
                .withExtraMetaData(ParquetFooterMetadata.forWriting(schema))
                .withSchema(avro)
                .withDataModel(GenericData.get())
                .withCompressionCodec(CompressionCodecName.SNAPPY)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .build();
    }

    @Override
    public void write(TableRow row) throws IOException {
        TableValues.checkArity(schema, row);
        GenericData.Record record = new GenericData.Record(avro);
        for (int i = 0; i < schema.size(); i++) {
            Object value = row.get(i);
            record.put(i, value instanceof byte[] bytes ? ByteBuffer.wrap(bytes) : value);
        }
        writer.write(record);
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
