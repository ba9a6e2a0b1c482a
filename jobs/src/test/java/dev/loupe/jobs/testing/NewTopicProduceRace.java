package dev.loupe.jobs.testing;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.streaming.AcknowledgedSends;
import dev.loupe.jobs.streaming.AcknowledgedSends.NotWrittenException;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A stress tool, not a test (the race it provokes is timing-dependent): creates topics one after another on an
 * embedded broker and writes two producer batches of records to each right after its creation, as the jobs tests'
 * {@link Topics#sendRequests} does, then counts the topics where a batch was not written.
 *
 * <p>The race (KAFKA-15591, fixed in the Kafka 4.5 broker): the first produce request reaches the broker before it
 * leads the new partition and fails with a retriable NOT_LEADER_OR_FOLLOWER; the second, already in flight, arrives
 * just after and is appended, since a broker without state for a producer accepts any first sequence; every retry
 * of the first batch then gets OUT_OF_ORDER_SEQUENCE_NUMBER until {@code delivery.timeout.ms} drops it.
 *
 * <p>Run: {@code java -cp <jobs test classpath> dev.loupe.jobs.testing.NewTopicProduceRace TOPICS default|ordered}
 * ({@code ordered}: one request in flight per connection, as {@link AcknowledgedSends#orderedProducer} sets).
 */
public final class NewTopicProduceRace {

    private NewTopicProduceRace() {}

    public static void main(String[] args) throws Exception {
        int topics = Integer.parseInt(args[0]);
        boolean ordered = args[1].equals("ordered");
        byte[] value = new byte[110]; // about the size of a tiny inline request: 135 of them fill a 16 KiB batch
        int lost = 0;
        try (EmbeddedKafka kafka = new EmbeddedKafka().start()) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
            p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "10000"); // a lost batch costs 10 s, not 2 minutes
            if (ordered) {
                AcknowledgedSends.orderedProducer(p);
            }
            long start = System.nanoTime();
            try (var producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int t = 0; t < topics; t++) {
                    String topic = "race-" + t;
                    kafka.createTopics(1, List.of(topic));
                    AcknowledgedSends<byte[], byte[]> sends = new AcknowledgedSends<>(producer);
                    for (int i = 0; i < 200; i++) {
                        sends.send(new ProducerRecord<>(topic, value), "r" + i);
                    }
                    try {
                        sends.awaitAll();
                    } catch (NotWrittenException e) {
                        lost++;
                        System.out.println(topic + ": " + e.getMessage());
                    }
                }
            }
            System.out.printf("%s producer: %d of %d new topics lost records (%.0f s)%n", ordered ? "ordered" : "default",
                    lost, topics, (System.nanoTime() - start) / 1e9);
        }
    }
}
