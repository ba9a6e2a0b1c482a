package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The streaming job against a broker that only speaks SASL/PLAIN: with the credentials passed as
 * {@link JobOptions#KAFKA_PROPERTIES} every request gets exactly one committed result; clients without them, or
 * with a wrong password, are refused.
 */
@Tag("slow")
class SaslKafkaJobTest {

    @Test
    void jobWithSaslPropertiesProcessesEveryRequestOnceAndClientsWithoutCredentialsAreRefused() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.withSaslPlain("loupe", "pl41n-s3cret").start()) {
            try (RunningJob job = new RunningJob(kafka)) {
                job.conf.set(JobOptions.KAFKA_PROPERTIES, kafka.clientProperties());
                job.start(EchoAnnotatorFactory.fast(job.name));
                List<AnnotationRequest> requests = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    requests.add(Requests.inline("s" + i, Task.CAPTION, Requests.image(6, 5, "png", i)));
                }
                job.topics.sendRequests(job.settings().requestsTopic(), requests);

                List<AnnotationResult> results =
                        job.topics.readCommitted(List.of(job.settings().resultsTopic()), 4, Topics::result);

                assertThat(results).extracting(AnnotationResult::getId).containsExactlyInAnyOrder("s0", "s1", "s2", "s3");
                assertThat(job.settings().toString()).doesNotContain("pl41n-s3cret");
            }

            assertThatThrownBy(() -> describeCluster(kafka, Map.of()))
                    .hasCauseInstanceOf(TimeoutException.class);
            Map<String, String> wrongPassword = new HashMap<>(kafka.clientProperties());
            wrongPassword.put("sasl.jaas.config", wrongPassword.get("sasl.jaas.config").replace("pl41n-s3cret", "guess"));
            assertThatThrownBy(() -> describeCluster(kafka, wrongPassword))
                    .hasCauseInstanceOf(SaslAuthenticationException.class);
        }
    }

    private static void describeCluster(EmbeddedKafka kafka, Map<String, String> clientProperties)
            throws ExecutionException, InterruptedException {
        Properties p = new Properties();
        p.putAll(clientProperties);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster().nodes().get();
        }
    }
}
