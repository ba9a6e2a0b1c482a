package dev.loupe.schemas.registry;

import dev.loupe.schemas.serde.AvroSerializer;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka value serializer in the schema registry wire format: the record class's schema is registered (or looked
 * up) once per topic under the topic-name subject {@code <topic>-value}, as Confluent's and Apicurio's serializers
 * name it by default, and each value is framed with its id. Registry failures raise {@link SchemaRegistryException}.
 */
public final class RegistryAvroSerializer<T extends SpecificRecord> implements Serializer<T> {

    private final SchemaRegistryClient registry;
    private final Schema schema;
    private final AvroSerializer<T> avro;
    private final Map<String, Integer> idByTopic = new HashMap<>();

    public RegistryAvroSerializer(Class<T> type, SchemaRegistryClient registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.schema = SpecificData.get().getSchema(type);
        this.avro = new AvroSerializer<>(type);
    }

    /** The topic-name strategy's subject of a topic's values. */
    public static String subject(String topic) {
        return topic + "-value";
    }

    /** Encodes {@code record} for {@code topic}; a null record (tombstone) stays null. */
    @Override
    public byte[] serialize(String topic, T record) {
        if (record == null) {
            return null;
        }
        Objects.requireNonNull(topic, "topic");
        Integer id = idByTopic.get(topic);
        if (id == null) {
            id = registry.idFor(subject(topic), schema);
            idByTopic.put(topic, id);
        }
        return WireFormat.frame(id, avro.serialize(record));
    }
}
