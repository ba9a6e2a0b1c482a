package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model runtime fails fatally mid-stream after at least one completed checkpoint; the job restarts from that
 * checkpoint and the results topic, read committed, still holds every id exactly once: under both schedulings, and
 * with the sinks' transactional ids pooled ({@link JobOptions#TRANSACTION_NAMING}), whose restore aborts what the
 * failed writer left open by listing the brokers' transactions.
 */
@Tag("slow")
class FailureRestoreTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"STATIC, INCREMENTING", "CONTINUOUS, INCREMENTING", "STATIC, POOLING"})
    void aFailureMidStreamLosesAndDuplicatesNothing(Scheduling scheduling, TransactionNamingStrategy naming)
            throws Exception {
        Path arm = dir.resolve("arm");
        Path fired = dir.resolve("fired");
        try (RunningJob job = new RunningJob()) {
            job.conf.set(LoupeOptions.BATCH_SCHEDULING, scheduling);
            job.conf.set(JobOptions.TRANSACTION_NAMING, naming);
            job.start(EchoAnnotatorFactory.failingOnceWhenArmed(job.name, arm, fired));
            String requestsTopic = job.settings().requestsTopic();
            List<String> results = List.of(job.settings().resultsTopic());
            IntFunction<AnnotationRequest> request = i -> Requests.inline("r" + i, Task.CAPTION, Requests.image(4, 4, "png", i));

            List<AnnotationRequest> first = IntStream.range(0, 20).mapToObj(request).toList();
            job.topics.sendRequests(requestsTopic, first);
            // committed results are visible only once a checkpoint completed
            assertThat(job.topics.readCommitted(results, 20, Topics::result)).hasSize(20);

            Files.createFile(arm);
            List<AnnotationRequest> second = IntStream.range(20, 50).mapToObj(request).toList();
            job.topics.sendRequests(requestsTopic, second);

            List<AnnotationResult> all = job.topics.readCommitted(results, 50, Topics::result);
            assertThat(Files.exists(fired)).as("the injected fault fired").isTrue();
            assertThat(job.client().getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
            List<String> expected = new ArrayList<>();
            IntStream.range(0, 50).forEach(i -> expected.add("r" + i));
            assertThat(all).extracting(AnnotationResult::getId).containsExactlyInAnyOrderElementsOf(expected);
        }
    }
}
