package dev.loupe.cli;

import dev.loupe.jobs.streaming.KafkaClientProperties;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The Kafka client security options shared by {@code loupe run}, {@code send} and {@code tail}: a properties
 * file as Kafka's own tools take with {@code --command-config}, and single properties that win over it.
 */
public final class KafkaClientOptions {

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "Java properties file of Kafka client properties (TLS, SASL), like Kafka tools' "
                    + "--command-config, e.g. security.protocol=SASL_SSL, sasl.mechanism, sasl.jaas.config.")
    Path configFile;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client property (repeatable); wins over --kafka-config. Secret values are never "
                    + "printed.")
    Map<String, String> properties = new LinkedHashMap<>();

    /** The file's properties overridden by the single ones, unchecked; IllegalArgumentException if unreadable. */
    public Map<String, String> merged() {
        Map<String, String> all = new LinkedHashMap<>();
        if (configFile != null) {
            all.putAll(KafkaClientProperties.load(configFile));
        }
        all.putAll(properties);
        return all;
    }

    /** {@link #merged()}, checked (see {@link KafkaClientProperties#of}). */
    public KafkaClientProperties checked() {
        return KafkaClientProperties.of(merged());
    }
}
