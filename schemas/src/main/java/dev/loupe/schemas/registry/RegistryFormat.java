package dev.loupe.schemas.registry;

import dev.loupe.schemas.serde.ValueFormat;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The schema registry wire format as a {@link ValueFormat}: serializers register under topic-name subjects and
 * frame values with the schema id; deserializers resolve each value's writer schema from the registry. One
 * registry client (and its caches) per format instance, i.e. per Flink operator instance once deserialized there.
 */
public final class RegistryFormat implements ValueFormat {

    private static final long serialVersionUID = 1L;

    private final RegistryConfig config;
    private transient SchemaRegistryClient client;

    public RegistryFormat(RegistryConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    public RegistryConfig config() {
        return config;
    }

    /** This format's registry client, created on first use. */
    public synchronized SchemaRegistryClient client() {
        if (client == null) {
            client = new SchemaRegistryClient(config);
        }
        return client;
    }

    @Override
    public <T extends SpecificRecord> Serializer<T> serializer(Class<T> type) {
        return new RegistryAvroSerializer<>(type, client());
    }

    @Override
    public <T extends SpecificRecord> Deserializer<T> deserializer(Class<T> type) {
        return new RegistryAvroDeserializer<>(type, client());
    }

    @Override
    public String toString() {
        return "schema registry wire format, " + config;
    }
}
