package dev.loupe.schemas.registry;

import dev.loupe.schemas.serde.AvroDeserializer;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka value deserializer for the schema registry wire format: each value's writer schema is fetched by its id
 * (once per id) and resolved against the record class's schema, so producers on an older or newer schema version
 * are read as long as Avro schema resolution allows (fields added with defaults, fields removed). A value that is
 * not framed, names an id the registry does not have, was written with a schema the reader cannot resolve, or does
 * not decode raises {@link SerializationException}; a registry that cannot be asked raises
 * {@link SchemaRegistryException}, which says nothing about the value.
 */
public final class RegistryAvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

    private final Class<T> type;
    private final Schema readerSchema;
    private final SchemaRegistryClient registry;
    private final Map<Integer, AvroDeserializer<T>> readerById = new HashMap<>();

    public RegistryAvroDeserializer(Class<T> type, SchemaRegistryClient registry) {
        this.type = Objects.requireNonNull(type, "type");
        this.readerSchema = SpecificData.get().getSchema(type);
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Decodes one framed value; null (a tombstone) stays null. */
    public T deserialize(byte[] value) {
        if (value == null) {
            return null;
        }
        int id = WireFormat.schemaId(value);
        return readerFor(id).deserialize(WireFormat.payload(value));
    }

    @Override
    public T deserialize(String topic, byte[] value) {
        return deserialize(value);
    }

    private AvroDeserializer<T> readerFor(int id) {
        AvroDeserializer<T> reader = readerById.get(id);
        if (reader == null) {
            Schema writer = registry.schemaById(id);
            var compatibility = SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writer);
            if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                throw new SerializationException("schema id " + id + " (" + writer.getFullName() + ") cannot be read as "
                        + readerSchema.getFullName() + ": " + compatibility.getResult().getIncompatibilities().stream()
                                .map(i -> i.getMessage() + " at " + i.getLocation()).toList());
            }
            reader = new AvroDeserializer<>(type, writer);
            readerById.put(id, reader);
        }
        return reader;
    }
}
