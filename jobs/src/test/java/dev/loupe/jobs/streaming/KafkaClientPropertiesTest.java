package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.cli.RunCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientPropertiesTest {

    private static final String JAAS =
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2\";";

    @Test
    void secretValuesAreRedactedInEveryDescription() {
        KafkaClientProperties props = KafkaClientProperties.of(Map.of(
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", JAAS,
                "ssl.truststore.location", "/etc/kafka/truststore.jks",
                "ssl.truststore.password", "hunter3",
                "ssl.keystore.password", "hunter4",
                "ssl.key.password", "hunter5",
                "ssl.keystore.key", "-----BEGIN PRIVATE KEY-----hunter6"));

        assertThat(props.toString()).doesNotContain("hunter")
                .contains("security.protocol=SASL_SSL", "sasl.mechanism=PLAIN",
                        "ssl.truststore.location=/etc/kafka/truststore.jks", "sasl.jaas.config=[redacted]",
                        "ssl.key.password=[redacted]", "ssl.keystore.key=[redacted]");
        assertThat(KafkaClientProperties.redacted(props.asMap())).containsEntry("ssl.truststore.password", "[redacted]")
                .containsEntry("security.protocol", "SASL_SSL");
        // the unredacted values still reach the clients
        assertThat(props.toProperties()).containsEntry("sasl.jaas.config", JAAS);

        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "k:9092");
        conf.set(JobOptions.KAFKA_PROPERTIES, props.asMap());
        JobSettings settings = JobSettings.from(conf);
        assertThat(settings.kafkaProperties()).isEqualTo(props);
        assertThat(settings.toString()).doesNotContain("hunter").contains("sasl.jaas.config=[redacted]");
    }

    @Test
    void refusesSettingsThatWouldBreakExactlyOnceWithoutEchoingSecrets() {
        assertThatThrownBy(() -> KafkaClientProperties.of(Map.of("transactional.id", "x")))
                .hasMessageContaining("loupe.kafka.properties must not set transactional.id")
                .hasMessageContaining("transactional-id-prefix");
        assertThatThrownBy(() -> KafkaClientProperties.of(Map.of("enable.idempotence", "false")))
                .hasMessageContaining("enable.idempotence=false").hasMessageContaining("exactly-once");
        assertThatThrownBy(() -> KafkaClientProperties.of(Map.of("isolation.level", "read_uncommitted")))
                .hasMessageContaining("isolation.level=read_uncommitted").hasMessageContaining("read_committed");
        assertThatThrownBy(() -> KafkaClientProperties.of(Map.of("bootstrap.servers", "k:1")))
                .hasMessageContaining("--bootstrap-servers");
        assertThat(KafkaClientProperties.of(Map.of("enable.idempotence", "true", "isolation.level", "read_committed"))
                .asMap()).hasSize(2);
        assertThatThrownBy(() -> KafkaClientProperties.of(Map.of("isolation.level", "hunter2-password")))
                .hasMessageContaining("isolation.level");
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "k:9092");
        conf.set(JobOptions.KAFKA_PROPERTIES, Map.of("sasl.jaas.config", JAAS, "transactional.id", "t"));
        assertThatThrownBy(() -> JobSettings.from(conf)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void runTakesAPropertiesFileAndSinglePropertiesThatWin(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                + "sasl.jaas.config=" + JAAS.replace("\"", "\\\"") + "\n");
        RunCommand command = RunCommand.parse("--bootstrap-servers", "k:9092", "--kafka-config", file.toString(),
                "--kafka-property", "sasl.mechanism=PLAIN", "--kafka-property", "ssl.truststore.type=PEM");
        JobSettings settings = JobSettings.from(command.toConfiguration());
        assertThat(settings.kafkaProperties().asMap()).containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "PLAIN").containsEntry("ssl.truststore.type", "PEM")
                .containsEntry("sasl.jaas.config", JAAS);

        RunCommand missing = RunCommand.parse("--bootstrap-servers", "k:9092", "--kafka-config",
                dir.resolve("absent.properties").toString());
        assertThatThrownBy(missing::toConfiguration).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("absent.properties");
    }
}
