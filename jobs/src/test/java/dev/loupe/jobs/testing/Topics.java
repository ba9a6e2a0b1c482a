package dev.loupe.jobs.testing;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.streaming.AcknowledgedSends;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.AvroDeserializer;
import dev.loupe.schemas.serde.AvroSerializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Test-side Kafka client: writes requests, reads results and dead letters as a {@code read_committed} reader. */
public final class Topics {

    private final EmbeddedKafka kafka;

    public Topics(EmbeddedKafka kafka) {
        this.kafka = kafka;
    }

    /** Writes {@code requests} and waits until the broker acknowledged each one; fails naming any it did not take. */
    public void sendRequests(String topic, Collection<AnnotationRequest> requests) {
        AvroSerializer<AnnotationRequest> serializer = new AvroSerializer<>(AnnotationRequest.class);
        List<byte[]> values = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (AnnotationRequest r : requests) {
            values.add(serializer.serialize(r));
            ids.add(r.getId());
        }
        send(topic, values, ids);
    }

    /** Writes {@code values} and waits until the broker acknowledged each one; fails naming any it did not take. */
    public void sendRaw(String topic, Collection<byte[]> values) {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            labels.add("value " + i);
        }
        send(topic, List.copyOf(values), labels);
    }

    private void send(String topic, List<byte[]> values, List<String> labels) {
        Properties p = new Properties();
        p.putAll(kafka.clientProperties());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        AcknowledgedSends.orderedProducer(p); // the topic was usually created a moment ago
        try (var producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            AcknowledgedSends<byte[], byte[]> sends = new AcknowledgedSends<>(producer);
            for (int i = 0; i < values.size(); i++) {
                sends.send(new ProducerRecord<>(topic, values.get(i)), labels.get(i));
            }
            sends.awaitAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to " + topic, e);
        }
    }

    /**
     * Reads the committed records of {@code topics} from the beginning until {@code expected} arrived (or 2 minutes
     * passed), then 2 s more to catch any extra (duplicate) record.
     */
    public <T> List<T> readCommitted(Collection<String> topics, int expected, Function<ConsumerRecord<byte[], byte[]>, T> decode) {
        return readCommitted(topics, expected, decode, Duration.ofSeconds(2));
    }

    /**
     * Reads the committed records of {@code topics} from the beginning until {@code expected} arrived (or 2 minutes
     * passed), then {@code settle} more to catch any extra (duplicate) record.
     */
    public <T> List<T> readCommitted(Collection<String> topics, int expected, Function<ConsumerRecord<byte[], byte[]>, T> decode,
            Duration settle) {
        Properties c = new Properties();
        c.putAll(kafka.clientProperties());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<T> out = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                consumer.partitionsFor(topic).forEach(i -> partitions.add(
                        new org.apache.kafka.common.TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(decode.apply(r));
                }
                if (out.size() >= expected && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + settle.toNanos(); // catch duplicates, if any
                }
            }
        }
        return out;
    }

    /**
     * Every record of {@code topic} from the beginning up to its end now: with {@code committedOnly} a
     * {@code read_committed} reader's view (up to the last stable offset, aborted records skipped), else a
     * {@code read_uncommitted} one's (also records of aborted and still open transactions).
     */
    public <T> List<T> readToEnd(String topic, boolean committedOnly, Function<ConsumerRecord<byte[], byte[]>, T> decode) {
        Properties c = new Properties();
        c.putAll(kafka.clientProperties());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committedOnly ? "read_committed" : "read_uncommitted");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<T> out = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new org.apache.kafka.common.TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            var ends = consumer.endOffsets(partitions); // the last stable offsets for a read_committed reader
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end offsets " + ends
                            + " within 30 s");
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() < ends.get(new org.apache.kafka.common.TopicPartition(r.topic(), r.partition()))) {
                        out.add(decode.apply(r));
                    }
                }
            }
        }
        return out;
    }

    public static AnnotationRequest request(ConsumerRecord<byte[], byte[]> r) {
        return new AvroDeserializer<>(AnnotationRequest.class).deserialize(r.value());
    }

    public static AnnotationResult result(ConsumerRecord<byte[], byte[]> r) {
        return new AvroDeserializer<>(AnnotationResult.class).deserialize(r.value());
    }

    public static AnnotationFailure failure(ConsumerRecord<byte[], byte[]> r) {
        return new AvroDeserializer<>(AnnotationFailure.class).deserialize(r.value());
    }

    /** The topic and decoded result. */
    public record Placed<T>(String topic, String key, T value) {}

    public static Placed<AnnotationResult> placedResult(ConsumerRecord<byte[], byte[]> r) {
        return new Placed<>(r.topic(), r.key() == null ? null : new String(r.key(), java.nio.charset.StandardCharsets.UTF_8), result(r));
    }
}
