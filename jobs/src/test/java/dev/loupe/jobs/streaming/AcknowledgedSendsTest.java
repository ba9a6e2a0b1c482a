package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.streaming.AcknowledgedSends.NotWrittenException;
import dev.loupe.jobs.testing.SharedKafka;
import dev.loupe.jobs.testing.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A record the broker does not take is reported by name, and the others are still written: here the broker refuses
 * a record larger than the topic's {@code max.message.bytes} (the producer splits the batch and the big record
 * fails alone), standing in for any batch the producer gives up on (e.g. after {@code delivery.timeout.ms}).
 */
@Tag("slow")
class AcknowledgedSendsTest {

    private static final int MAX_MESSAGE_BYTES = 1024;

    @Test
    void aRecordTheBrokerRefusesIsNamedAndTheOthersAreWritten() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String topic = topicRefusingLargeRecords(kafka);
        try (var producer = producer(kafka)) {
            AcknowledgedSends<byte[], byte[]> sends = new AcknowledgedSends<>(producer);
            sends.send(new ProducerRecord<>(topic, value("a", 10)), "a");
            sends.send(new ProducerRecord<>(topic, value("big", 4 * MAX_MESSAGE_BYTES)), "big");
            sends.send(new ProducerRecord<>(topic, value("c", 10)), "c");

            assertThatThrownBy(sends::awaitAll).isInstanceOf(NotWrittenException.class)
                    .hasMessageStartingWith("1 of 3 record(s) were not written: [big]")
                    .hasCauseInstanceOf(RecordTooLargeException.class)
                    .extracting(e -> ((NotWrittenException) e).notWritten()).isEqualTo(List.of("big"));
        }
        assertThat(new Topics(kafka).readToEnd(topic, true, r -> name(r.value()))).containsExactly("a", "c");
    }

    @Test
    void countsTheRecordsWhenEveryOneIsAcknowledged() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String topic = topicRefusingLargeRecords(kafka);
        try (var producer = producer(kafka)) {
            AcknowledgedSends<byte[], byte[]> sends = new AcknowledgedSends<>(producer);
            for (String name : List.of("a", "b", "c")) {
                sends.send(new ProducerRecord<>(topic, value(name, 10)), name);
            }
            assertThat(sends.awaitAll()).isEqualTo(3);
            sends.send(new ProducerRecord<>(topic, value("d", 10)), "d");
            assertThat(sends.awaitAll()).as("only the records sent since the last call").isEqualTo(1);
        }
        assertThat(new Topics(kafka).readToEnd(topic, true, r -> name(r.value()))).containsExactly("a", "b", "c", "d");
    }

    private static String topicRefusingLargeRecords(EmbeddedKafka kafka) throws Exception {
        String topic = "acks-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES))))).all().get();
        }
        return topic;
    }

    private static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "50"); // the three records share a batch, which the broker refuses whole
        AcknowledgedSends.orderedProducer(p); // the topic was created a moment ago
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** {@code name}, a NUL, then padding up to {@code size} bytes. */
    private static byte[] value(String name, int size) {
        byte[] v = Arrays.copyOf((name + "\0").getBytes(StandardCharsets.UTF_8), size);
        return v;
    }

    private static String name(byte[] value) {
        String s = new String(value, StandardCharsets.UTF_8);
        return s.substring(0, s.indexOf('\0'));
    }
}
