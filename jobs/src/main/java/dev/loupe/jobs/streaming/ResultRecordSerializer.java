package dev.loupe.jobs.streaming;

import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.ValueFormat;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes a result to its task's topic (or the default results topic), keyed by the request id so every
 * result of one request lands in one partition, valued in the job's {@link ValueFormat} (plain Avro binary by
 * default, or the schema registry wire format under the subject {@code <topic>-value}). It names every topic it
 * writes to ({@link KafkaDatasetFacetProvider}): the sink's POOLING transaction naming looks for open transactions on
 * them.
 */
public final class ResultRecordSerializer
        implements KafkaRecordSerializationSchema<AnnotationResult>, KafkaDatasetFacetProvider {

    private static final long serialVersionUID = 1L;

    private final String defaultTopic;
    private final Map<String, String> topicPerTask;
    private final ValueFormat format;
    private transient Serializer<AnnotationResult> values;

    /** @param topicPerTask upper-case task name to topic; tasks not in it go to {@code defaultTopic} */
    public ResultRecordSerializer(String defaultTopic, Map<String, String> topicPerTask) {
        this(defaultTopic, topicPerTask, ValueFormat.PLAIN_AVRO);
    }

    /** As {@link #ResultRecordSerializer(String, Map)}, values in {@code format}. */
    public ResultRecordSerializer(String defaultTopic, Map<String, String> topicPerTask, ValueFormat format) {
        this.defaultTopic = defaultTopic;
        this.topicPerTask = Map.copyOf(topicPerTask);
        this.format = format;
    }

    /** The topic a result of this task goes to. */
    public String topicFor(String task) {
        return task == null ? defaultTopic : topicPerTask.getOrDefault(task.toUpperCase(Locale.ROOT), defaultTopic);
    }

    /** Every topic a result may go to: the default one and the tasks' own, sorted. */
    public List<String> topics() {
        TreeSet<String> topics = new TreeSet<>(topicPerTask.values());
        topics.add(defaultTopic);
        return List.copyOf(topics);
    }

    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(topics())));
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(AnnotationResult result, KafkaSinkContext context, Long timestamp) {
        if (values == null) {
            values = format.serializer(AnnotationResult.class);
        }
        String topic = topicFor(result.getTask());
        return new ProducerRecord<>(topic, null, timestamp,
                result.getId().getBytes(StandardCharsets.UTF_8), values.serialize(topic, result));
    }
}
