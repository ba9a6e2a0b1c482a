package dev.loupe.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("slow")
class EmbeddedKafkaTest {

    @Test
    void transactionsWorkOnOneNodeAndCloseFreesPortsAndFolder() throws Exception {
        EmbeddedKafka kafka = new EmbeddedKafka().start();
        int port = kafka.brokerPort();
        java.nio.file.Path data = kafka.dataDir();
        assertThat(data).isDirectory();
        try {
            kafka.createTopics("t");
            kafka.createTopics("t"); // idempotent
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-" + UUID.randomUUID());
            try (var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("t", "k", "aborted"));
                producer.abortTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("t", "k", "committed"));
                producer.commitTransaction();
            }
            Properties c = new Properties();
            c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            c.put(ConsumerConfig.GROUP_ID_CONFIG, "g");
            try (var consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("t"));
                List<String> seen = new java.util.ArrayList<>();
                for (int i = 0; i < 60 && seen.isEmpty(); i++) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        seen.add(r.value());
                    }
                }
                assertThat(seen).containsExactly("committed");
            }
            assertThat(Ports.isListening(port)).isTrue();
        } finally {
            kafka.close();
        }
        assertThat(Ports.isListening(port)).isFalse();
        assertThat(Ports.isListening(kafka.controllerPort())).isFalse();
        assertThat(data).doesNotExist();
    }

    @Test
    void aStoppedBrokerRestartsOnTheSamePortWithItsTopicsAndData() throws Exception {
        try (EmbeddedKafka kafka = new EmbeddedKafka().start()) {
            String address = kafka.bootstrapServers();
            java.nio.file.Path data = kafka.dataDir();
            kafka.createTopics("kept");
            send(kafka, "kept", "before");

            kafka.stop();
            assertThat(kafka.isRunning()).isFalse();
            assertThat(Ports.isListening(kafka.brokerPort())).isFalse();
            assertThat(data).isDirectory();

            kafka.restart();
            assertThat(kafka.isRunning()).isTrue();
            assertThat(kafka.bootstrapServers()).isEqualTo(address);
            send(kafka, "kept", "after");
            assertThat(readCommitted(kafka, "kept", 2)).containsExactly("before", "after");
        }
    }

    private static void send(EmbeddedKafka kafka, String topic, String value) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-" + UUID.randomUUID());
        try (var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "k", value));
            producer.commitTransaction();
        }
    }

    private static List<String> readCommitted(EmbeddedKafka kafka, String topic, int expected) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "g-" + UUID.randomUUID());
        List<String> seen = new java.util.ArrayList<>();
        try (var consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            for (int i = 0; i < 120 && seen.size() < expected; i++) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    seen.add(r.value());
                }
            }
        }
        return seen;
    }
}
