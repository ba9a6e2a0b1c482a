package dev.loupe.schemas.serde;

import java.io.IOException;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka value deserializer for a generated Avro record written by {@link AvroSerializer} (plain Avro binary).
 * The writer schema defaults to the record class's schema; pass the producer's schema when it differs, and Avro
 * schema resolution fills added fields from their defaults and skips fields the reader does not know.
 * Bad bytes (truncated, trailing garbage, invalid union index, lengths beyond the value ...) raise
 * {@link SerializationException}; a hostile length never makes it allocate more than the value's size. An enum
 * symbol or union branch the reader's schema lacks (a producer on a newer schema) is named as such.
 */
public final class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {
    private final SpecificDatumReader<T> reader;

    public AvroDeserializer(Class<T> type) {
        this(type, SpecificData.get().getSchema(Objects.requireNonNull(type, "type")));
    }

    public AvroDeserializer(Class<T> type, Schema writerSchema) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(writerSchema, "writerSchema");
        Schema readerSchema = SpecificData.get().getSchema(type);
        this.reader = new SpecificDatumReader<>(writerSchema, readerSchema);
    }

    /** Decodes one whole value; null (a tombstone) stays null. */
    public T deserialize(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        BoundedBinaryDecoder decoder = new BoundedBinaryDecoder(bytes);
        T record;
        try {
            record = reader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new SerializationException("trailing bytes after the Avro record");
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof SerializationException se) {
                throw se;
            }
            if (e instanceof IndexOutOfBoundsException) {
                // Avro indexes the reader's enum symbols and union branches with the number it read
                throw new SerializationException("not a valid " + reader.getExpected().getFullName() + " record: an enum"
                        + " symbol or union branch number beyond this reader's schema (" + e.getMessage() + "), e.g. a"
                        + " task this version does not know; was it written with a newer schema?", e);
            }
            throw new SerializationException("not a valid " + reader.getExpected().getFullName() + " record: " + e, e);
        }
        return record;
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        return deserialize(bytes);
    }
}
