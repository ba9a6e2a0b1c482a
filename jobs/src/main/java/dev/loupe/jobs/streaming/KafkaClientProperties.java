package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Extra Kafka client properties (TLS, SASL, timeouts ...) given by the user and passed to every Kafka client
 * loupe creates: the job's source and both exactly-once sinks, and the producer and consumer of
 * {@code loupe send} / {@code loupe tail}. Properties loupe owns (addresses, group, transactions, isolation)
 * are refused with a message naming the loupe option to use instead, so exactly-once cannot be switched off by
 * accident. Secret values ({@code sasl.jaas.config}, {@code ssl.*.password}, ...) never appear in
 * {@link #toString()} or in error messages.
 */
public final class KafkaClientProperties implements Serializable {

    private static final long serialVersionUID = 1L;

    /** No extra properties. */
    public static final KafkaClientProperties NONE = new KafkaClientProperties(new TreeMap<>());

    /** What a redacted value reads as. */
    public static final String REDACTED = "[redacted]";

    private static final Map<String, String> OWNED_BY_LOUPE = Map.of(
            "bootstrap.servers", "set loupe.kafka.bootstrap-servers (--bootstrap-servers) instead",
            "group.id", "set loupe.kafka.group-id (--group-id) instead",
            "transactional.id", "loupe derives one per sink from loupe.kafka.transactional-id-prefix "
                    + "(--transactional-id-prefix) for exactly-once delivery",
            "transaction.timeout.ms", "set loupe.kafka.transaction-timeout instead");
    private static final Set<String> SECRET_PARTS = Set.of("password", "jaas", "secret", "credential", "token");

    private final TreeMap<String, String> values;

    private KafkaClientProperties(TreeMap<String, String> values) {
        this.values = values;
    }

    /**
     * Checks {@code properties}; throws IllegalArgumentException (naming the key, never a secret value) for blank
     * keys and for properties that would conflict with loupe's own settings or break exactly-once delivery:
     * {@code enable.idempotence} other than true, {@code isolation.level} other than read_committed.
     */
    public static KafkaClientProperties of(Map<String, String> properties) {
        TreeMap<String, String> checked = new TreeMap<>();
        for (var e : properties.entrySet()) {
            String key = e.getKey() == null ? "" : e.getKey().trim();
            String value = e.getValue() == null ? "" : e.getValue().trim();
            if (key.isEmpty()) {
                throw bad("has an empty key");
            }
            String why = OWNED_BY_LOUPE.get(key);
            if (why != null) {
                throw bad("must not set " + key + ": " + why);
            }
            if (key.equals("enable.idempotence") && !value.equalsIgnoreCase("true")) {
                throw bad("must not set enable.idempotence=" + redact(key, value)
                        + ": the exactly-once sinks need idempotent, transactional producers");
            }
            if (key.equals("isolation.level") && !value.equalsIgnoreCase("read_committed")) {
                throw bad("must not set isolation.level=" + redact(key, value)
                        + ": loupe reads read_committed so aborted transactions are never annotated or shown");
            }
            checked.put(key, value);
        }
        return checked.isEmpty() ? NONE : new KafkaClientProperties(checked);
    }

    /** The properties of a Java properties file (as Kafka's tools take with {@code --command-config}). */
    public static Map<String, String> load(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the Kafka client properties file " + file + ": "
                    + e.getMessage(), e);
        }
        Map<String, String> out = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }

    /** Whether the value of {@code key} is a secret (passwords, JAAS configuration, keys, tokens). */
    public static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return SECRET_PARTS.stream().anyMatch(k::contains) || k.endsWith(".key") || k.endsWith("keystore.key");
    }

    /** {@code value}, or {@link #REDACTED} when {@code key} holds a secret. */
    public static String redact(String key, String value) {
        return isSecret(key) ? REDACTED : value;
    }

    /** A copy of {@code properties} with secret values replaced by {@link #REDACTED}, sorted by key. */
    public static Map<String, String> redacted(Map<String, String> properties) {
        Map<String, String> out = new TreeMap<>();
        properties.forEach((k, v) -> out.put(k, redact(k, v)));
        return out;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** The properties, unredacted, for handing to a Kafka client. */
    public Map<String, String> asMap() {
        return Map.copyOf(values);
    }

    /** The properties as a new {@link Properties}, unredacted, for handing to a Kafka client. */
    public Properties toProperties() {
        Properties p = new Properties();
        p.putAll(values);
        return p;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaClientProperties other && values.equals(other.values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    /** Redacted: safe to print and log. */
    @Override
    public String toString() {
        return redacted(values).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
    }

    private static IllegalArgumentException bad(String why) {
        return new IllegalArgumentException(JobOptions.KAFKA_PROPERTIES.key() + " " + why);
    }
}
