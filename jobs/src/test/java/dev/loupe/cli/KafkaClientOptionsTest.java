package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KafkaClientOptionsTest {

    @Test
    void sendAndTailRefuseExactlyOnceBreakingPropertiesBeforeConnecting() {
        CliRun send = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", "--image", "https://example.com/a.png",
                "--kafka-property", "sasl.jaas.config=x password=\"hunter2\";",
                "--kafka-property", "transactional.id=mine");
        assertThat(send.status()).isEqualTo(2);
        assertThat(send.err()).contains("loupe send: loupe.kafka.properties must not set transactional.id")
                .doesNotContain("hunter2");

        CliRun tail = CliRun.of("tail", "--bootstrap-servers", "127.0.0.1:1",
                "--kafka-property", "isolation.level=read_uncommitted");
        assertThat(tail.status()).isEqualTo(2);
        assertThat(tail.err()).contains("loupe tail: loupe.kafka.properties must not set isolation.level");
    }
}
