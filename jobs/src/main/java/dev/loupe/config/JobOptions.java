package dev.loupe.config;

import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;

/**
 * The streaming job's options, typed, with their defaults: Kafka addresses and topics, transactions,
 * checkpointing, restarts, parallelism. Read and checked once by {@link JobSettings#from}; the operators'
 * own options (batching, fetching, allowed roots) live in {@code dev.loupe.flink.PipelineOptions}.
 */
public final class JobOptions {

    private JobOptions() {}

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("loupe.kafka.bootstrap-servers")
            .stringType().noDefaultValue()
            .withDescription("Kafka bootstrap servers, host:port[,host:port...].");

    public static final ConfigOption<Map<String, String>> KAFKA_PROPERTIES = ConfigOptions.key("loupe.kafka.properties")
            .mapType().defaultValue(Map.of())
            .withDescription("Extra Kafka client properties (TLS, SASL, ...) for the job's source and sinks, e.g. "
                    + "security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location. Addresses, "
                    + "group, transactions and isolation are loupe's own options and refused here; secret values "
                    + "are never printed.");

    public static final ConfigOption<String> REQUESTS_TOPIC = ConfigOptions.key("loupe.topics.requests")
            .stringType().defaultValue("loupe.requests")
            .withDescription("Topic of Avro AnnotationRequest values.");

    public static final ConfigOption<String> RESULTS_TOPIC = ConfigOptions.key("loupe.topics.results")
            .stringType().defaultValue("loupe.results")
            .withDescription("Topic of Avro AnnotationResult values, for tasks with no topic of their own.");

    public static final ConfigOption<Map<String, String>> RESULTS_TOPIC_PER_TASK =
            ConfigOptions.key("loupe.topics.results-per-task")
                    .mapType().defaultValue(Map.of())
                    .withDescription("Task to results topic, e.g. 'caption:results.caption,vqa:results.vqa'; "
                            + "tasks not listed go to loupe.topics.results.");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("loupe.topics.dead-letters")
            .stringType().defaultValue("loupe.dead-letters")
            .withDescription("Topic of Avro AnnotationFailure values.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("loupe.kafka.group-id")
            .stringType().defaultValue("loupe-annotator")
            .withDescription("Consumer group of the requests source (offsets committed on checkpoints).");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX =
            ConfigOptions.key("loupe.kafka.transactional-id-prefix")
                    .stringType().defaultValue("loupe-annotator")
                    .withDescription("Prefix of the exactly-once sinks' transactional ids; unique per job on a cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("loupe.kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Producer transaction timeout; must exceed the checkpoint interval plus restart time "
                    + "and stay within the broker's transaction.max.timeout.ms (15 min by default).");

    public static final ConfigOption<TransactionNamingStrategy> TRANSACTION_NAMING =
            ConfigOptions.key("loupe.kafka.transaction-naming")
                    .enumType(TransactionNamingStrategy.class).defaultValue(TransactionNamingStrategy.INCREMENTING)
                    .withDescription("How the exactly-once sinks name their transactions. INCREMENTING: a new "
                            + "transactional id per checkpoint and subtask, which the brokers keep for "
                            + "transactional.id.expiration.ms (7 days by default). POOLING: a few ids per subtask, "
                            + "reused; needs Kafka 3.0 or later, the ListTransactions API (DESCRIBE on the ids) and "
                            + "READ on the output topics; a job may switch to it from a checkpoint or savepoint "
                            + "taken under INCREMENTING, but not back.");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("loupe.checkpoint.interval")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Exactly-once checkpoint interval; results become visible to read_committed readers "
                    + "when the checkpoint that covers them completes.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("loupe.parallelism")
            .intType().defaultValue(1)
            .withDescription("Parallelism of the job's operators.");

    public static final ConfigOption<Integer> RESTART_ATTEMPTS = ConfigOptions.key("loupe.restart.attempts")
            .intType().defaultValue(3)
            .withDescription("Restarts from the last checkpoint before the job fails for good.");

    public static final ConfigOption<Duration> RESTART_DELAY = ConfigOptions.key("loupe.restart.delay")
            .durationType().defaultValue(Duration.ofSeconds(2))
            .withDescription("Delay between restarts.");

    public static final ConfigOption<Boolean> OBJECT_REUSE = ConfigOptions.key("loupe.object-reuse")
            .booleanType().defaultValue(true)
            .withDescription("Chained operators hand each record to the next by reference (Flink's "
                    + "pipeline.object-reuse) instead of copying it through its serializer at every hop (the image "
                    + "bytes, the 600 KB pixel tensor). Loupe's operators never keep or change a record they have "
                    + "emitted or received, so the outputs are the same either way; false only to rule it out when an "
                    + "operator of your own, added to a job, does.");
}
