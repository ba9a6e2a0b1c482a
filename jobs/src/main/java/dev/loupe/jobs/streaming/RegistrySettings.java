package dev.loupe.jobs.streaming;

import dev.loupe.config.SchemaRegistryOptions;
import dev.loupe.schemas.registry.RegistryConfig;
import dev.loupe.schemas.registry.RegistryFormat;
import dev.loupe.schemas.serde.ValueFormat;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Reads and checks the {@link SchemaRegistryOptions}: the Kafka value format of the streaming job, {@code loupe send}
 * and {@code loupe tail}, plain Avro unless a registry URL is set. Errors name the offending option and never show a
 * secret.
 */
public final class RegistrySettings {

    private RegistrySettings() {}

    /** The registry configuration, or empty when no URL is set; throws IllegalArgumentException naming a bad option. */
    public static Optional<RegistryConfig> from(ReadableConfig config) {
        Optional<String> url = config.getOptional(SchemaRegistryOptions.URL).map(String::trim).filter(s -> !s.isEmpty());
        if (url.isEmpty()) {
            for (var option : java.util.List.of(SchemaRegistryOptions.BASIC_AUTH_USER_INFO,
                    SchemaRegistryOptions.BEARER_AUTH_TOKEN, SchemaRegistryOptions.TRUSTSTORE_LOCATION)) {
                if (config.getOptional(option).isPresent()) {
                    throw new IllegalArgumentException(option.key() + " is set but " + SchemaRegistryOptions.URL.key()
                            + " (--schema-registry) is not");
                }
            }
            return Optional.empty();
        }
        URI uri;
        try {
            uri = new URI(url.get());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(SchemaRegistryOptions.URL.key() + " is not a URL: " + e.getReason());
        }
        String truststore = config.getOptional(SchemaRegistryOptions.TRUSTSTORE_LOCATION).map(String::trim)
                .filter(s -> !s.isEmpty()).orElse(null);
        if (truststore != null && !Files.isReadable(Path.of(truststore))) {
            throw new IllegalArgumentException(SchemaRegistryOptions.TRUSTSTORE_LOCATION.key() + " " + truststore
                    + " is not a readable file");
        }
        try {
            return Optional.of(new RegistryConfig(uri,
                    config.getOptional(SchemaRegistryOptions.BASIC_AUTH_USER_INFO).orElse(null),
                    config.getOptional(SchemaRegistryOptions.BEARER_AUTH_TOKEN).orElse(null),
                    truststore,
                    config.getOptional(SchemaRegistryOptions.TRUSTSTORE_PASSWORD).orElse(null),
                    config.get(SchemaRegistryOptions.TRUSTSTORE_TYPE),
                    config.get(SchemaRegistryOptions.AUTO_REGISTER),
                    config.get(SchemaRegistryOptions.TIMEOUT)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("loupe.kafka.schema-registry: " + e.getMessage());
        }
    }

    /** The value format the options select: the registry wire format when a URL is set, else plain Avro. */
    public static ValueFormat valueFormat(ReadableConfig config) {
        return from(config).<ValueFormat>map(RegistryFormat::new).orElse(ValueFormat.PLAIN_AVRO);
    }
}
