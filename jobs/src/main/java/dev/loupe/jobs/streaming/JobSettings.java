package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import dev.loupe.model.api.Task;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;

/**
 * The streaming job's options after validation: every value here is usable, so the job wiring never meets a
 * half-configured run. Build with {@link #from(ReadableConfig)}, which names the offending option on error.
 *
 * @param resultsTopicPerTask task name in upper case ({@code CAPTION}, {@code VQA}, {@code RANK}) to topic
 * @param kafkaProperties extra client properties (TLS, SASL) for the source and sinks; prints redacted
 * @param transactionNaming how the exactly-once sinks name their transactions ({@link JobOptions#TRANSACTION_NAMING})
 */
public record JobSettings(
        String bootstrapServers,
        String requestsTopic,
        String resultsTopic,
        Map<String, String> resultsTopicPerTask,
        String deadLetterTopic,
        String groupId,
        String transactionalIdPrefix,
        Duration transactionTimeout,
        TransactionNamingStrategy transactionNaming,
        Duration checkpointInterval,
        int parallelism,
        int restartAttempts,
        Duration restartDelay,
        KafkaClientProperties kafkaProperties,
        boolean objectReuse) {

    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public JobSettings {
        resultsTopicPerTask = Map.copyOf(resultsTopicPerTask);
    }

    /** Reads and checks the {@link JobOptions}; throws IllegalArgumentException naming the bad option. */
    public static JobSettings from(ReadableConfig config) {
        String bootstrap = config.getOptional(JobOptions.BOOTSTRAP_SERVERS)
                .map(String::trim).filter(s -> !s.isEmpty())
                .orElseThrow(() -> bad(JobOptions.BOOTSTRAP_SERVERS.key(), "is required (host:port[,host:port...])"));
        for (String server : bootstrap.split(",")) {
            if (!server.trim().matches("[^:\\s]+:\\d{1,5}")) {
                throw bad(JobOptions.BOOTSTRAP_SERVERS.key(), "'" + server.trim() + "' is not host:port");
            }
        }
        String requests = topic(config.get(JobOptions.REQUESTS_TOPIC), JobOptions.REQUESTS_TOPIC.key());
        String results = topic(config.get(JobOptions.RESULTS_TOPIC), JobOptions.RESULTS_TOPIC.key());
        String deadLetters = topic(config.get(JobOptions.DEAD_LETTER_TOPIC), JobOptions.DEAD_LETTER_TOPIC.key());
        Map<String, String> perTask = new TreeMap<>();
        for (var e : config.get(JobOptions.RESULTS_TOPIC_PER_TASK).entrySet()) {
            String task = e.getKey().trim().toUpperCase(Locale.ROOT);
            try {
                Task.valueOf(task);
            } catch (IllegalArgumentException ex) {
                throw bad(JobOptions.RESULTS_TOPIC_PER_TASK.key(), "unknown task '" + e.getKey() + "' (caption, vqa, rank)");
            }
            perTask.put(task, topic(e.getValue().trim(), JobOptions.RESULTS_TOPIC_PER_TASK.key()));
        }
        if (requests.equals(results) || requests.equals(deadLetters) || perTask.containsValue(requests)) {
            throw bad(JobOptions.REQUESTS_TOPIC.key(), "the requests topic must differ from the output topics");
        }
        if (deadLetters.equals(results) || perTask.containsValue(deadLetters)) {
            throw bad(JobOptions.DEAD_LETTER_TOPIC.key(), "the dead-letter topic must differ from the results topics");
        }
        String groupId = nonBlank(config.get(JobOptions.GROUP_ID), JobOptions.GROUP_ID.key());
        String prefix = nonBlank(config.get(JobOptions.TRANSACTIONAL_ID_PREFIX), JobOptions.TRANSACTIONAL_ID_PREFIX.key());
        Duration interval = positive(config.get(JobOptions.CHECKPOINT_INTERVAL), JobOptions.CHECKPOINT_INTERVAL.key());
        Duration txTimeout = positive(config.get(JobOptions.TRANSACTION_TIMEOUT), JobOptions.TRANSACTION_TIMEOUT.key());
        if (txTimeout.compareTo(interval) <= 0) {
            throw bad(JobOptions.TRANSACTION_TIMEOUT.key(), "must be longer than the checkpoint interval " + interval);
        }
        int parallelism = config.get(JobOptions.PARALLELISM);
        if (parallelism < 1) {
            throw bad(JobOptions.PARALLELISM.key(), "must be at least 1, got " + parallelism);
        }
        int attempts = config.get(JobOptions.RESTART_ATTEMPTS);
        if (attempts < 0) {
            throw bad(JobOptions.RESTART_ATTEMPTS.key(), "must be 0 or more, got " + attempts);
        }
        Duration delay = config.get(JobOptions.RESTART_DELAY);
        if (delay.isNegative()) {
            throw bad(JobOptions.RESTART_DELAY.key(), "must not be negative");
        }
        return new JobSettings(bootstrap, requests, results, perTask, deadLetters, groupId, prefix, txTimeout,
                config.get(JobOptions.TRANSACTION_NAMING), interval, parallelism, attempts, delay,
                KafkaClientProperties.of(config.get(JobOptions.KAFKA_PROPERTIES)), config.get(JobOptions.OBJECT_REUSE));
    }

    /** These settings against another Kafka cluster (the embedded broker, once it has started). */
    public JobSettings withBootstrapServers(String servers) {
        return new JobSettings(servers, requestsTopic, resultsTopic, resultsTopicPerTask, deadLetterTopic, groupId,
                transactionalIdPrefix, transactionTimeout, transactionNaming, checkpointInterval, parallelism,
                restartAttempts, restartDelay, kafkaProperties, objectReuse);
    }

    /** Every topic the job reads or writes, requests first. */
    public java.util.List<String> allTopics() {
        var topics = new java.util.LinkedHashSet<String>();
        topics.add(requestsTopic);
        topics.add(resultsTopic);
        topics.addAll(new TreeMap<>(resultsTopicPerTask).values());
        topics.add(deadLetterTopic);
        return java.util.List.copyOf(topics);
    }

    private static String topic(String name, String key) {
        if (name == null || !TOPIC.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw bad(key, "'" + name + "' is not a valid Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters)");
        }
        return name;
    }

    private static String nonBlank(String value, String key) {
        if (value == null || value.isBlank()) {
            throw bad(key, "must not be blank");
        }
        return value.trim();
    }

    private static Duration positive(Duration d, String key) {
        if (d.isZero() || d.isNegative()) {
            throw bad(key, "must be positive, got " + d);
        }
        return d;
    }

    private static IllegalArgumentException bad(String key, String why) {
        return new IllegalArgumentException(key + " " + why);
    }
}
