package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.config.SchemaRegistryOptions;
import dev.loupe.jobs.testing.CompatibleSchemaRegistry;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.OlderRequestSchema;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.registry.RegistryAvroDeserializer;
import dev.loupe.schemas.registry.SchemaRegistryClient;
import dev.loupe.schemas.registry.RegistryConfig;
import dev.loupe.schemas.registry.WireFormat;
import dev.loupe.schemas.serde.AvroSerializer;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The streaming job with {@code --schema-registry}: requests in the registry wire format, written by a producer on
 * an older request schema version or on the current one, get exactly one registry-framed result each; a value
 * naming an unknown schema id or without the wire format's header gets exactly one (framed) dead letter carrying
 * its bytes; a registry outage restarts the job instead of dead-lettering good requests.
 */
@Tag("slow")
class SchemaRegistryStreamingTest {

    private static CompatibleSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() {
        registry = CompatibleSchemaRegistry.open();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    @Test
    void olderSchemaRequestsGetFramedResultsExactlyOnceAndUnknownIdsOneDeadLetter() throws Exception {
        try (RunningJob job = new RunningJob()) {
            job.conf.set(SchemaRegistryOptions.URL, registry.url());
            job.conf.set(JobOptions.RESTART_ATTEMPTS, 50);
            job.start(EchoAnnotatorFactory.fast(job.name));
            JobSettings settings = job.settings();
            String requestsSubject = settings.requestsTopic() + "-value";

            int v1 = registry.register(requestsSubject, OlderRequestSchema.V1);
            byte[] older = WireFormat.frame(v1, OlderRequestSchema.inlineCaption("old-1",
                    Requests.image(6, 6, "png", 1)));
            byte[] unknownId = WireFormat.frame(424242, new byte[] {2, 'x'});
            byte[] plainAvro = new AvroSerializer<>(AnnotationRequest.class)
                    .serialize(Requests.inline("plain-1", Task.CAPTION, Requests.image(5, 5, "png", 2)));
            job.topics.sendRaw(settings.requestsTopic(), List.of(older, unknownId, plainAvro));

            List<Framed<AnnotationResult>> results = job.topics.readCommitted(List.of(settings.resultsTopic()), 1,
                    r -> framed(r, AnnotationResult.class));
            List<Framed<AnnotationFailure>> failures = job.topics.readCommitted(
                    List.of(settings.deadLetterTopic()), 2, r -> framed(r, AnnotationFailure.class));

            assertThat(results).hasSize(1);
            assertThat(results.get(0).value().getId()).isEqualTo("old-1");
            assertThat(registry.versions(settings.resultsTopic() + "-value")).containsExactly(results.get(0).schemaId());
            assertThat(registry.schema(results.get(0).schemaId())).isEqualTo(AnnotationResult.getClassSchema());

            assertThat(failures).hasSize(2).allSatisfy(f -> {
                assertThat(f.value().getErrorCode()).isEqualTo("UNDECODABLE_RECORD");
                assertThat(f.value().getId()).isNull();
                assertThat(registry.versions(settings.deadLetterTopic() + "-value")).containsExactly(f.schemaId());
            });
            assertThat(failures).extracting(f -> f.value().getRawInput().array())
                    .containsExactlyInAnyOrder(unknownId, plainAvro);
            assertThat(failures).extracting(f -> f.value().getMessage()).anySatisfy(m -> assertThat(m)
                    .contains("schema id 424242")).anySatisfy(m -> assertThat(m).contains("magic byte"));

            // an outage while a request names a schema id the job has not fetched yet: restarts, no dead letter
            int current = registry.register(requestsSubject, AnnotationRequest.getClassSchema());
            registry.stop();
            try {
                job.topics.sendRaw(settings.requestsTopic(), List.of(WireFormat.frame(current,
                        new AvroSerializer<>(AnnotationRequest.class).serialize(
                                Requests.inline("during-outage", Task.CAPTION, Requests.image(4, 4, "png", 3))))));
                Thread.sleep(4_000);
            } finally {
                registry.start();
            }
            List<Framed<AnnotationResult>> all = job.topics.readCommitted(List.of(settings.resultsTopic()), 2,
                    r -> framed(r, AnnotationResult.class));
            assertThat(all).extracting(r -> r.value().getId()).containsExactlyInAnyOrder("old-1", "during-outage");
            assertThat(job.topics.readCommitted(List.of(settings.deadLetterTopic()), 2,
                    r -> framed(r, AnnotationFailure.class))).hasSize(2);
        }
    }

    /** A value read back in the registry wire format, with the schema id it was framed with. */
    record Framed<T>(int schemaId, T value) {}

    private static <T extends org.apache.avro.specific.SpecificRecord> Framed<T> framed(
            ConsumerRecord<byte[], byte[]> record, Class<T> type) {
        var reader = new RegistryAvroDeserializer<>(type, new SchemaRegistryClient(
                new RegistryConfig(java.net.URI.create(registry.url()), null, null, null, null, "JKS", false,
                        Duration.ofSeconds(5))));
        return new Framed<>(WireFormat.schemaId(record.value()), reader.deserialize(record.value()));
    }
}
