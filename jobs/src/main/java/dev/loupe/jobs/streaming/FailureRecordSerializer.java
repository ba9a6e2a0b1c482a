package dev.loupe.jobs.streaming;

import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.serde.AvroSerializer;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes a dead letter to the dead-letter topic, keyed by the request id when it is known. */
public final class FailureRecordSerializer implements KafkaRecordSerializationSchema<AnnotationFailure> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private transient AvroSerializer<AnnotationFailure> values;

    public FailureRecordSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(AnnotationFailure failure, KafkaSinkContext context, Long timestamp) {
        if (values == null) {
            values = new AvroSerializer<>(AnnotationFailure.class);
        }
        byte[] key = failure.getId() == null ? null : failure.getId().getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(topic, null, timestamp, key, values.serialize(failure));
    }
}
