package dev.loupe.schemas.serde;

import java.io.Serializable;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * How Loupe's records are encoded as Kafka values: {@link #PLAIN_AVRO} (the default: Avro binary, no header) or
 * a schema registry's wire format ({@code dev.loupe.schemas.registry.RegistryFormat}). Serializable, so a Flink
 * operator carries the format and opens its serializers where it runs; the serializers use the topic they are
 * given (a registry subject is named after it).
 */
public interface ValueFormat extends Serializable {

    /** Plain Avro binary written with, and read as, the record class's own schema. */
    ValueFormat PLAIN_AVRO = new PlainAvro();

    /** A serializer of {@code type} records (not thread-safe). */
    <T extends SpecificRecord> Serializer<T> serializer(Class<T> type);

    /**
     * A deserializer of {@code type} records (not thread-safe). Bytes that are not a valid record raise
     * {@link org.apache.kafka.common.errors.SerializationException}; any other exception means the value could not
     * be read now (e.g. the registry is unreachable) and says nothing about the value.
     */
    <T extends SpecificRecord> Deserializer<T> deserializer(Class<T> type);

    /** The {@link #PLAIN_AVRO} format. */
    final class PlainAvro implements ValueFormat {
        private static final long serialVersionUID = 1L;

        private PlainAvro() {}

        @Override
        public <T extends SpecificRecord> Serializer<T> serializer(Class<T> type) {
            return new AvroSerializer<>(type);
        }

        @Override
        public <T extends SpecificRecord> Deserializer<T> deserializer(Class<T> type) {
            return new AvroDeserializer<>(type);
        }

        private Object readResolve() {
            return PLAIN_AVRO;
        }

        @Override
        public String toString() {
            return "plain Avro";
        }
    }
}
