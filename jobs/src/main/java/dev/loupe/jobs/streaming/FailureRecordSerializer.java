package dev.loupe.jobs.streaming;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.serde.ValueFormat;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes a dead letter to the dead-letter topic, keyed by the request id when it is known, valued in the job's
 * {@link ValueFormat} (plain Avro by default, or the schema registry wire format under {@code <topic>-value}).
 */
public final class FailureRecordSerializer implements KafkaRecordSerializationSchema<AnnotationFailure> {

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
}
