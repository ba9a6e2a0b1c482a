package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The way {@link JobOptions#TRANSACTION_NAMING} documents for a running job: stopped with a savepoint under
 * INCREMENTING, started from it with POOLING, on the same topics and transactional-id prefix. The requests held in the
 * savepoint are annotated after the switch, and the results topic read committed holds every id exactly once. The
 * brokers then know hardly more transactional ids than before, though the job has checkpointed many times since.
 */
@Tag("slow")
class TransactionNamingSwitchTest {

    /** Checkpoint intervals the test waits after the switch, besides the time its requests take. */
    private static final int CHECKPOINTS_AFTER = 10;

    @Test
    void aJobSwitchesToPooledTransactionalIdsFromASavepoint(@TempDir Path savepoints) throws Exception {
        try (RunningJob job = new RunningJob()) {
            JobSettings incrementing = job.settings();
            assertThat(incrementing.transactionNaming()).isEqualTo(TransactionNamingStrategy.INCREMENTING);
            job.start(EchoAnnotatorFactory.slow(job.name, 20));
            send(job, 0, 20);
            awaitResults(job, 20);
            send(job, 20, 40); // the slow model may still hold some of these when the job stops
            String savepoint = job.stop(savepoints);

            Set<String> idsBefore = transactionalIds(job);
            assertThat(idsBefore).as("INCREMENTING: a transactional id per checkpoint").hasSizeGreaterThan(2);

            job.conf.set(JobOptions.TRANSACTION_NAMING, TransactionNamingStrategy.POOLING);
            job.start(EchoAnnotatorFactory.fast(job.name), RunningJob.environment(job.settings(), savepoint));
            send(job, 40, 60);
            List<String> ids = job.topics.readCommitted(List.of(job.settings().resultsTopic()), 60, Topics::result)
                    .stream().map(AnnotationResult::getId).toList();
            assertThat(ids).as("result ids, read committed, across the switch")
                    .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 60).mapToObj(i -> "r" + i).toList());

            Thread.sleep(CHECKPOINTS_AFTER * job.settings().checkpointInterval().toMillis());
            Set<String> idsAfter = transactionalIds(job);
            assertThat(idsAfter).containsAll(idsBefore);
            assertThat(idsAfter.size() - idsBefore.size()).as("new transactional ids under POOLING, %s", idsAfter)
                    .isLessThan(CHECKPOINTS_AFTER / 2);
        }
    }

    /** The transactional ids of the job's results sink that the broker knows. */
    private static Set<String> transactionalIds(RunningJob job) throws Exception {
        try (Admin admin = job.kafka.admin()) {
            return admin.listTransactions().all().get(30, TimeUnit.SECONDS).stream()
                    .map(TransactionListing::transactionalId)
                    .filter(id -> id.startsWith(job.settings().transactionalIdPrefix() + "-results-"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static void send(RunningJob job, int from, int to) {
        List<AnnotationRequest> requests = IntStream.range(from, to)
                .mapToObj(i -> Requests.inline("r" + i, Task.CAPTION, Requests.image(4, 4, "png", i))).toList();
        job.topics.sendRequests(job.settings().requestsTopic(), requests);
    }

    private static void awaitResults(RunningJob job, int count) {
        assertThat(job.topics.readCommitted(List.of(job.settings().resultsTopic()), count, Topics::result,
                Duration.ZERO)).hasSizeGreaterThanOrEqualTo(count);
    }
}
