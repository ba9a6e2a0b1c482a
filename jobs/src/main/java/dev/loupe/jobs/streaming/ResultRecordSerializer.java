package dev.loupe.jobs.streaming;

import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.AvroSerializer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a result to its task's topic (or the default results topic), keyed by the request id so every
 * result of one request lands in one partition, valued as plain Avro binary.
 */
public final class ResultRecordSerializer implements KafkaRecordSerializationSchema<AnnotationResult> {

    private static final long serialVersionUID = 1L;

    private final String defaultTopic;
    private final Map<String, String> topicPerTask;
    private transient AvroSerializer<AnnotationResult> values;

    /** @param topicPerTask upper-case task name to topic; tasks not in it go to {@code defaultTopic} */
    public ResultRecordSerializer(String defaultTopic, Map<String, String> topicPerTask) {
        this.defaultTopic = defaultTopic;
        this.topicPerTask = Map.copyOf(topicPerTask);
    }

    /** The topic a result of this task goes to. */
    public String topicFor(String task) {
        return task == null ? defaultTopic : topicPerTask.getOrDefault(task.toUpperCase(Locale.ROOT), defaultTopic);
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(AnnotationResult result, KafkaSinkContext context, Long timestamp) {
        if (values == null) {
            values = new AvroSerializer<>(AnnotationResult.class);
        }
        return new ProducerRecord<>(topicFor(result.getTask()), null, timestamp,
                result.getId().getBytes(StandardCharsets.UTF_8), values.serialize(result));
    }
}
