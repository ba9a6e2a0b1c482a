package dev.loupe.jobs.streaming;

import dev.loupe.config.CommonFlags;
import dev.loupe.config.Flag;
import dev.loupe.config.JobArguments;
import dev.loupe.config.JobOptions;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.config.SchemaRegistryOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.config.ModelOptions;
import java.nio.file.Path;
import java.util.List;

/**
 * The streaming job's arguments, for {@link StreamingAnnotationJob#main} and {@code loupe run} alike:
 * {@code --config}, {@code -D} and these flags, each a view of one option of {@link #CATALOGUE}.
 */
public final class StreamingArguments {

    private StreamingArguments() {}

    /** Every option the streaming job reads. */
    public static final OptionCatalogue CATALOGUE =
            OptionCatalogue.of(JobOptions.class, SchemaRegistryOptions.class, LoupeOptions.class, ModelOptions.class);

    /** A file of Kafka client properties. */
    public static final Flag KAFKA_CONFIG = Flag.entriesFile("--kafka-config", JobOptions.KAFKA_PROPERTIES,
                    file -> KafkaClientProperties.load(Path.of(file)))
            .note("Java properties file of Kafka client properties (TLS, SASL), like Kafka tools' "
                    + "--command-config, e.g. security.protocol=SASL_SSL, sasl.mechanism, sasl.jaas.config.");

    /** One Kafka client property, over the file's. */
    public static final Flag KAFKA_PROPERTY = Flag.map("--kafka-property", JobOptions.KAFKA_PROPERTIES)
            .note("A Kafka client property (repeatable); wins over --kafka-config. Secret values are never printed.");

    /** The schema registry's URL: values in the registry wire format instead of plain Avro. */
    public static final Flag SCHEMA_REGISTRY = Flag.value("--schema-registry", SchemaRegistryOptions.URL).label("URL")
            .note("Read and write values in a schema registry's wire format (Confluent-compatible API, e.g. "
                    + "http://registry:8081 or Apicurio's http://registry:8080/apis/ccompat/v7).");

    /** The Kafka client flags alone, for tools that talk to the job's Kafka ({@code loupe send}, {@code loupe tail}). */
    public static final JobArguments KAFKA_CLIENT = new JobArguments(
            OptionCatalogue.of(JobOptions.class, SchemaRegistryOptions.class),
            List.of(KAFKA_CONFIG, KAFKA_PROPERTY, SCHEMA_REGISTRY));

    public static final JobArguments ARGUMENTS = new JobArguments(CATALOGUE, List.of(
            Flag.value("--bootstrap-servers", JobOptions.BOOTSTRAP_SERVERS).label("HOST:PORT[,...]")
                    .note("Kafka to read requests from and write results to. Default (loupe run): start an embedded "
                            + "broker."),
            Flag.value("--model", ModelOptions.MODEL).label("DIR")
                    .note("Model package or Hugging Face checkpoint directory (loupe run's default: a tiny "
                            + "random-weight demo model the project generates; its text is meaningless)."),
            KAFKA_CONFIG,
            KAFKA_PROPERTY,
            SCHEMA_REGISTRY,
            Flag.value("--requests-topic", JobOptions.REQUESTS_TOPIC).label("TOPIC"),
            Flag.value("--results-topic", JobOptions.RESULTS_TOPIC).label("TOPIC"),
            Flag.map("--results-topic-for", JobOptions.RESULTS_TOPIC_PER_TASK).label("TASK=TOPIC")
                    .note("Results of one task go to their own topic, e.g. caption=results.caption (repeatable)."),
            Flag.value("--dead-letter-topic", JobOptions.DEAD_LETTER_TOPIC).label("TOPIC"),
            Flag.value("--group-id", JobOptions.GROUP_ID).label("ID"),
            Flag.value("--transactional-id-prefix", JobOptions.TRANSACTIONAL_ID_PREFIX).label("PREFIX"),
            Flag.value("--transaction-naming", JobOptions.TRANSACTION_NAMING).label("incrementing|pooling"),
            CommonFlags.ALLOWED_ROOT,
            CommonFlags.ALLOWED_HOST,
            CommonFlags.BATCH_SIZE,
            CommonFlags.BATCH_DELAY,
            CommonFlags.SCHEDULING,
            CommonFlags.CHECKPOINT_INTERVAL,
            CommonFlags.PARALLELISM,
            CommonFlags.RESTART_ATTEMPTS));
}
