package dev.loupe.cli;

import dev.loupe.config.JobOptions;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.ValueFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe tail}: prints the committed results and dead letters of the streaming job as JSON lines
 * (Avro's JSON form), reading from the beginning with {@code read_committed} isolation; plain Avro values, or with
 * {@code --schema-registry} values in the registry wire format.
 */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Print committed results and dead letters as JSON lines.")
public final class TailCommand implements Callable<Integer>, KafkaClientCommand {

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT[,...]")
    String bootstrapServers;

    @Option(names = "--results-topic", paramLabel = "TOPIC", description = "Repeatable. Default: loupe.results.")
    List<String> resultTopics = new ArrayList<>();

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC", description = "Default: ${DEFAULT-VALUE}.")
    String deadLetterTopic = JobOptions.DEAD_LETTER_TOPIC.defaultValue();

    @Option(names = "--max", paramLabel = "N", description = "Stop after N records. Default: no limit.")
    long max = Long.MAX_VALUE;

    @Option(names = "--idle", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Stop after this long without a new record. Default: 30s.")
    Duration idle = Duration.ofSeconds(30);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() {
        Properties p;
        ValueFormat format;
        try {
            p = kafkaProperties().toProperties();
            format = valueFormat();
        } catch (IllegalArgumentException e) {
            System.err.println("loupe tail: " + e.getMessage());
            return 2;
        }
        List<String> results = resultTopics.isEmpty() ? List.of(JobOptions.RESULTS_TOPIC.defaultValue()) : resultTopics;
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Deserializer<AnnotationResult> resultValues = format.deserializer(AnnotationResult.class);
        Deserializer<AnnotationFailure> failureValues = format.deserializer(AnnotationFailure.class);
        long printed = 0;
        try (var consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            List<String> topics = new ArrayList<>(results);
            topics.add(deadLetterTopic);
            for (String topic : topics) {
                consumer.partitionsFor(topic).forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long lastRecord = System.nanoTime();
            while (printed < max && System.nanoTime() - lastRecord < idle.toNanos()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    lastRecord = System.nanoTime();
                    Object value = r.topic().equals(deadLetterTopic)
                            ? failureValues.deserialize(r.topic(), r.value()) : resultValues.deserialize(r.topic(), r.value());
                    System.out.println(value);
                    if (++printed >= max) {
                        break;
                    }
                }
            }
        }
        return 0;
    }
}
