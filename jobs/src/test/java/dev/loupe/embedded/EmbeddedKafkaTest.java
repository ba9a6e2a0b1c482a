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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Tag("slow")
class EmbeddedKafkaTest {

    /** A broker at {@code placement}; in its own process at nice value 3, to check that it runs there. */
    private static EmbeddedKafka broker(EmbeddedKafka.Placement placement) {
        return placement == EmbeddedKafka.Placement.IN_PROCESS ? new EmbeddedKafka()
                : EmbeddedKafka.inOwnProcess(3, EmbeddedKafka.DEFAULT_PROCESS_JVM_OPTIONS);
    }

    @ParameterizedTest
    @EnumSource(EmbeddedKafka.Placement.class)
    void transactionsWorkOnOneNodeAndCloseFreesPortsAndFolder(EmbeddedKafka.Placement placement) throws Exception {
        EmbeddedKafka kafka = broker(placement).start();
        java.util.Optional<ProcessHandle> process = ownProcess(kafka);
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
        process.ifPresent(p -> assertThat(p.isAlive()).as("the broker's own process after close()").isFalse());
        assertThat(Ports.isListening(port)).isFalse();
        assertThat(Ports.isListening(kafka.controllerPort())).isFalse();
        assertThat(data).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(EmbeddedKafka.Placement.class)
    void aStoppedBrokerRestartsOnTheSamePortWithItsTopicsAndData(EmbeddedKafka.Placement placement) throws Exception {
        try (EmbeddedKafka kafka = broker(placement).start()) {
            String address = kafka.bootstrapServers();
            java.nio.file.Path data = kafka.dataDir();
            kafka.createTopics("kept");
            send(kafka, "kept", "before");

            java.util.Optional<ProcessHandle> first = ownProcess(kafka);
            kafka.stop();
            first.ifPresent(p -> assertThat(p.isAlive()).as("the stopped broker's process").isFalse());
            assertThat(kafka.isRunning()).isFalse();
            assertThat(Ports.isListening(kafka.brokerPort())).isFalse();
            assertThat(data).isDirectory();

            kafka.restart();
            assertThat(kafka.isRunning()).isTrue();
            assertThat(ownProcess(kafka).isPresent()).isEqualTo(placement == EmbeddedKafka.Placement.PROCESS);
            assertThat(kafka.bootstrapServers()).isEqualTo(address);
            send(kafka, "kept", "after");
            assertThat(readCommitted(kafka, "kept", 2)).containsExactly("before", "after");
        }
    }

    /**
     * The broker's own process (checked to be another process, at the nice value {@link #broker} asked for), or
     * empty when it runs in this JVM.
     */
    private static java.util.Optional<ProcessHandle> ownProcess(EmbeddedKafka kafka) throws java.io.IOException {
        if (kafka.placement() == EmbeddedKafka.Placement.IN_PROCESS) {
            assertThat(kafka.pid()).isEmpty();
            return java.util.Optional.empty();
        }
        long pid = kafka.pid().orElseThrow();
        assertThat(pid).isNotEqualTo(ProcessHandle.current().pid());
        ProcessHandle handle = ProcessHandle.of(pid).orElseThrow();
        assertThat(handle.isAlive()).isTrue();
        java.nio.file.Path stat = java.nio.file.Path.of("/proc", String.valueOf(pid), "stat");
        if (java.nio.file.Files.exists(stat)) {   // Linux: field 19 of stat is the nice value
            String s = java.nio.file.Files.readString(stat);
            String[] fields = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // nice -n 3 adds to the nice value of the thread that started it (this test's)
            int expected = Math.min(19, dev.loupe.model.cpu.ThreadNiceness.current().orElse(0) + 3);
            assertThat(Integer.parseInt(fields[16])).as("the broker process's nice value").isEqualTo(expected);
        }
        return java.util.Optional.of(handle);
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
