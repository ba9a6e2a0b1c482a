package dev.loupe.schemas.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka value serializer for a generated Avro record: plain Avro binary encoding (no header, no schema id),
 * written with the record class's own schema. Readers must therefore know the writer schema; our topics carry
 * one record type each and the schemas evolve with defaulted fields only, so a reader built for an older or
 * newer version resolves it with {@link AvroDeserializer#AvroDeserializer(Class, Schema)}.
 */
public final class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {
    private final SpecificDatumWriter<T> writer;

    public AvroSerializer(Class<T> type) {
        Objects.requireNonNull(type, "type");
        Schema schema = SpecificData.get().getSchema(type);
        this.writer = new SpecificDatumWriter<>(schema);
    }

    /** Encodes one record; a null record is Kafka's tombstone and stays null. */
    public byte[] serialize(T record) {
        if (record == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot encode " + record.getSchema().getFullName() + ": " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    @Override
    public byte[] serialize(String topic, T record) {
        return serialize(record);
    }
}
