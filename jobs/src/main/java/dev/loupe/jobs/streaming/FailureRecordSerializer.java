package dev.loupe.jobs.streaming;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.serde.ValueFormat;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes a dead letter to the dead-letter topic, keyed by the request id when it is known, valued in the job's
 * {@link ValueFormat} (plain Avro by default, or the schema registry wire format under {@code <topic>-value}). It
 * names its topic ({@link KafkaDatasetFacetProvider}): the sink's POOLING transaction naming looks for open
 * transactions on it.
 */
public final class FailureRecordSerializer
        implements KafkaRecordSerializationSchema<AnnotationFailure>, KafkaDatasetFacetProvider {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final ValueFormat format;
    private transient Serializer<AnnotationFailure> values;

    public FailureRecordSerializer(String topic) {
        this(topic, ValueFormat.PLAIN_AVRO);
    }

    public FailureRecordSerializer(String topic, ValueFormat format) {
        this.topic = topic;
        this.format = format;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(AnnotationFailure failure, KafkaSinkContext context, Long timestamp) {
        if (values == null) {
            values = format.serializer(AnnotationFailure.class);
        }
        byte[] key = failure.getId() == null ? null : failure.getId().getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(topic, null, timestamp, key, values.serialize(topic, failure));
    }

    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(List.of(topic))));
    }
}
