package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.testing.CompatibleSchemaRegistry;
import dev.loupe.jobs.testing.SharedKafka;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Timings;
import dev.loupe.schemas.registry.RegistryConfig;
import dev.loupe.schemas.registry.RegistryFormat;
import dev.loupe.schemas.registry.WireFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe send} and {@code loupe tail} with {@code --schema-registry} speak the registry wire format as the job does. */
class SchemaRegistryCommandLineTest {

    @Test
    void sendWritesFramedRequestsAndTailReadsFramedResultsAndDeadLetters() {
        EmbeddedKafka kafka = SharedKafka.get();
        String name = "cli" + UUID.randomUUID().toString().substring(0, 8);
        kafka.createTopics(name + ".requests", name + ".results", name + ".dead");
        try (CompatibleSchemaRegistry registry = CompatibleSchemaRegistry.open()) {
            CliRun send = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic",
                    name + ".requests", "--image", "https://example.com/a.png", "--schema-registry", registry.url());
            assertThat(send.status()).as(send.err()).isZero();
            String id = send.out().trim();

            List<byte[]> values = new Topics(kafka).readCommitted(List.of(name + ".requests"), 1, r -> r.value());
            assertThat(values).hasSize(1);
            assertThat(registry.versions(name + ".requests-value")).containsExactly(WireFormat.schemaId(values.get(0)));
            RegistryFormat format = new RegistryFormat(RegistryConfig.of(registry.url()));
            AnnotationRequest request = format.deserializer(AnnotationRequest.class).deserialize(null, values.get(0));
            assertThat(request.getId()).isEqualTo(id);
            assertThat(request.getImage().getUri()).isEqualTo("https://example.com/a.png");

            AnnotationResult result = AnnotationResult.newBuilder().setId(id).setTask("CAPTION").setText("a photo")
                    .setTimings(Timings.newBuilder().build()).build();
            AnnotationFailure failure = AnnotationFailure.newBuilder().setId("other").setStage("fetch")
                    .setErrorCode("IMAGE_NOT_FOUND").setMessage("gone").setTimestampMillis(1L).build();
            Topics topics = new Topics(kafka);
            topics.sendRaw(name + ".results",
                    List.of(format.serializer(AnnotationResult.class).serialize(name + ".results", result)));
            topics.sendRaw(name + ".dead",
                    List.of(format.serializer(AnnotationFailure.class).serialize(name + ".dead", failure)));

            CliRun tail = CliRun.of("tail", "--bootstrap-servers", kafka.bootstrapServers(), "--results-topic",
                    name + ".results", "--dead-letter-topic", name + ".dead", "--max", "2", "--idle", "20s",
                    "--schema-registry", registry.url());
            assertThat(tail.status()).as(tail.err()).isZero();
            assertThat(tail.out()).contains("\"text\": \"a photo\"", "\"errorCode\": \"IMAGE_NOT_FOUND\"");
        }
    }

    @Test
    void runRefusesBadRegistrySettingsBeforeStarting(@TempDir Path dir) {
        CliRun run = CliRun.of("run", "--model", dir.toString(), "--schema-registry", "ftp://registry:8081");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("loupe run: loupe.kafka.schema-registry", "not an http(s) URL");

        CliRun secret = CliRun.of("run", "--model", dir.toString(), "--schema-registry", "http://registry:8081",
                "-D", "loupe.kafka.schema-registry.basic-auth.user-info=ann", "-D",
                "loupe.kafka.schema-registry.bearer-auth.token=Zq9xw");
        assertThat(secret.status()).isEqualTo(2);
        assertThat(secret.err()).contains("USER:PASSWORD").doesNotContain("Zq9xw");
    }
}
