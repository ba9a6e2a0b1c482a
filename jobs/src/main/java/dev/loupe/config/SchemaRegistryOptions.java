package dev.loupe.config;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * The schema registry options of the streaming job and of {@code loupe send} / {@code loupe tail}
 * ({@code loupe.kafka.schema-registry.*}): with a URL, requests are read and results and dead letters written in
 * the registry wire format; without, values are plain Avro. The settings mirror a Confluent-compatible client's
 * ({@code schema.registry.url}, {@code basic.auth.user.info}, {@code bearer.auth.token},
 * {@code schema.registry.ssl.truststore.*}, {@code auto.register.schemas}). Read and checked by
 * {@code dev.loupe.jobs.streaming.RegistrySettings}.
 */
public final class SchemaRegistryOptions {

    private SchemaRegistryOptions() {}

    public static final ConfigOption<String> URL = ConfigOptions.key("loupe.kafka.schema-registry.url")
            .stringType().noDefaultValue()
            .withDescription("Base URL of a Confluent-compatible schema registry (Confluent, Apicurio's "
                    + "/apis/ccompat/v7, Karapace, Redpanda). When set, requests are read in the registry wire format "
                    + "(magic byte 0, 4-byte schema id, Avro binary) and resolved against loupe's request schema, and "
                    + "results and dead letters are written in it, their schemas registered under <topic>-value. "
                    + "Unset: plain Avro. Basic auth credentials may be given in the URL as https://USER:PASSWORD@host.");

    public static final ConfigOption<String> BASIC_AUTH_USER_INFO =
            ConfigOptions.key("loupe.kafka.schema-registry.basic-auth.user-info")
                    .stringType().noDefaultValue()
                    .withDescription("HTTP basic auth credentials for the registry, USER:PASSWORD (as Confluent "
                            + "clients' basic.auth.user.info). Never printed.");

    public static final ConfigOption<String> BEARER_AUTH_TOKEN =
            ConfigOptions.key("loupe.kafka.schema-registry.bearer-auth.token")
                    .stringType().noDefaultValue()
                    .withDescription("A static bearer token for the registry (as Confluent clients' "
                            + "bearer.auth.token); not together with basic auth. Never printed.");

    public static final ConfigOption<String> TRUSTSTORE_LOCATION =
            ConfigOptions.key("loupe.kafka.schema-registry.ssl.truststore.location")
                    .stringType().noDefaultValue()
                    .withDescription("Trust store file for an https registry whose certificate the JVM does not "
                            + "trust by default.");

    public static final ConfigOption<String> TRUSTSTORE_PASSWORD =
            ConfigOptions.key("loupe.kafka.schema-registry.ssl.truststore.password")
                    .stringType().noDefaultValue()
                    .withDescription("Password of the trust store. Never printed.");

    public static final ConfigOption<String> TRUSTSTORE_TYPE =
            ConfigOptions.key("loupe.kafka.schema-registry.ssl.truststore.type")
                    .stringType().defaultValue("JKS")
                    .withDescription("Type of the trust store: JKS or PKCS12.");

    public static final ConfigOption<Boolean> AUTO_REGISTER =
            ConfigOptions.key("loupe.kafka.schema-registry.auto-register")
                    .booleanType().defaultValue(true)
                    .withDescription("Register the result and dead-letter schemas under their topics' subjects "
                            + "(<topic>-value). false: only look up their ids; a schema not registered there fails "
                            + "the job with a message naming the subject.");

    public static final ConfigOption<Duration> TIMEOUT = ConfigOptions.key("loupe.kafka.schema-registry.timeout")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Timeout of one registry request. Unreachable registries and 5xx answers are retried "
                    + "(4 attempts in about 2 s of backoff), then the job fails and restarts from its last checkpoint: "
                    + "records are never dead-lettered because the registry was down.");
}
