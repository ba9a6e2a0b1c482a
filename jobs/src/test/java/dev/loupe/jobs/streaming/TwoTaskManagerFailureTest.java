package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.EchoAnnotatorFactory.Fault;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming job at parallelism 2 on a MiniCluster of two TaskManagers with one slot each (so both hold a
 * slice of every operator), through four failures: a TaskManager lost mid-stream, exceptions thrown by the model
 * at chosen requests, the Kafka broker restarted while the job runs, a checkpoint failing. The first three run under
 * both schedulings of the inference operator (static batches, continuous batching with requests mid-generation); the
 * TaskManager's loss and the broker's restart also with the sinks' transactional ids pooled (a lost subtask's pooled
 * transactions are aborted by whichever subtask restores its writer state). After each, more requests go in, and the
 * results topic read committed holds every request id exactly once while the job runs on.
 */
@Tag("slow")
class TwoTaskManagerFailureTest {

    private static final int PARALLELISM = 2;

    /** One two-TaskManager cluster for the class; the test that kills a TaskManager starts a new one. */
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(2)
            .setNumberSlotsPerTaskManager(1)
            .setConfiguration(clusterConfiguration())
            .build());

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"STATIC, INCREMENTING", "CONTINUOUS, INCREMENTING", "STATIC, POOLING"})
    void aTaskManagerLostMidStreamLosesAndDuplicatesNothing(Scheduling scheduling, TransactionNamingStrategy naming,
            @InjectMiniCluster MiniCluster miniCluster) throws Exception {
        try (RunningJob job = twoWayJob(new RunningJob(), scheduling, naming)) {
            job.start(EchoAnnotatorFactory.fast(job.name), environment(miniCluster, job));
            sendAndAwait(job, 0, 20);

            send(job, 20, 40); // in flight while the TaskManager goes
            miniCluster.terminateTaskManager(0).get(60, TimeUnit.SECONDS);
            miniCluster.startTaskManager(); // the job needs two slots again
            awaitResults(job, 40);

            send(job, 40, 60);
            assertEveryIdExactlyOnce(job, 60);
        }
    }

    @ParameterizedTest
    @EnumSource(Scheduling.class)
    void exceptionsInTheModelAtChosenRequestsLoseAndDuplicateNothing(Scheduling scheduling, @InjectMiniCluster MiniCluster miniCluster)
            throws Exception {
        Path retried = dir.resolve("retried");
        Path restarted = dir.resolve("restarted");
        try (RunningJob job = twoWayJob(new RunningJob(), scheduling)) {
            // r25's batch throws a RuntimeException (the batch is retried request by request, no restart);
            // r45's batch throws an Error (the job restarts from its last checkpoint)
            AnnotatorFactory model = EchoAnnotatorFactory.failingOnceAt(job.name,
                    Fault.at("r25", retried, false), Fault.at("r45", restarted, true));
            job.start(model, environment(miniCluster, job));
            sendAndAwait(job, 0, 20);

            sendAndAwait(job, 20, 40);
            assertThat(retried).as("the exception at r25 was thrown").exists();

            sendAndAwait(job, 40, 60);
            assertThat(restarted).as("the error at r45 was thrown").exists();

            send(job, 60, 80);
            assertEveryIdExactlyOnce(job, 80);
            assertThat(job.topics.readCommitted(List.of(job.settings().deadLetterTopic()), 0, Topics::failure,
                    Duration.ofSeconds(2))).extracting(AnnotationFailure::getId).as("dead letters").isEmpty();
        }
    }

    @ParameterizedTest
    @CsvSource({"STATIC, INCREMENTING", "CONTINUOUS, INCREMENTING", "STATIC, POOLING"})
    void theBrokerRestartedWhileTheJobRunsLosesAndDuplicatesNothing(Scheduling scheduling,
            TransactionNamingStrategy naming, @InjectMiniCluster MiniCluster miniCluster) throws Exception {
        try (EmbeddedKafka kafka = new EmbeddedKafka().start();
                RunningJob job = twoWayJob(new RunningJob(kafka), scheduling, naming)) {
            // restarts while the broker is away must not use up the attempts
            job.conf.set(JobOptions.RESTART_ATTEMPTS, 20);
            job.conf.set(JobOptions.RESTART_DELAY, Duration.ofSeconds(1));
            job.start(EchoAnnotatorFactory.fast(job.name), environment(miniCluster, job));
            sendAndAwait(job, 0, 20);

            send(job, 20, 40); // in flight while the broker goes
            kafka.stop();
            Thread.sleep(2 * job.settings().checkpointInterval().toMillis()); // let checkpoints meet the outage
            kafka.restart();
            awaitResults(job, 40);

            send(job, 40, 60);
            assertEveryIdExactlyOnce(job, 60);
        }
    }

    @Test
    void aFailedCheckpointLosesAndDuplicatesNothing(@InjectMiniCluster MiniCluster miniCluster) throws Exception {
        Path arm = dir.resolve("arm");
        Path fired = dir.resolve("fired");
        try (RunningJob job = twoWayJob(new RunningJob())) {
            StreamExecutionEnvironment env = environment(miniCluster, job);
            SnapshotFailingOnce failing = new SnapshotFailingOnce(arm, fired);
            job.start(EchoAnnotatorFactory.fast(job.name), env,
                    requests -> requests.map(failing).returns(byte[].class).name("snapshot-failing-once"));
            sendAndAwait(job, 0, 20);

            Files.createFile(arm);
            sendAndAwait(job, 20, 40);
            assertThat(fired).as("a checkpoint failed").exists();

            send(job, 40, 60);
            assertEveryIdExactlyOnce(job, 60);
        }
    }

    private static Configuration clusterConfiguration() {
        Configuration conf = new Configuration();
        conf.setString("taskmanager.memory.network.min", "16mb");
        conf.setString("taskmanager.memory.network.max", "16mb");
        return conf;
    }

    private static RunningJob twoWayJob(RunningJob job) {
        return twoWayJob(job, Scheduling.STATIC);
    }

    private static RunningJob twoWayJob(RunningJob job, Scheduling scheduling) {
        return twoWayJob(job, scheduling, TransactionNamingStrategy.INCREMENTING);
    }

    /**
     * The job at parallelism 2, its inference operator scheduling the model as {@code scheduling} says, its sinks
     * naming their transactions as {@code naming} says.
     */
    private static RunningJob twoWayJob(RunningJob job, Scheduling scheduling, TransactionNamingStrategy naming) {
        job.conf.set(LoupeOptions.BATCH_SCHEDULING, scheduling);
        job.conf.set(JobOptions.TRANSACTION_NAMING, naming);
        job.conf.set(JobOptions.PARALLELISM, PARALLELISM);
        // A failed writer's open transaction would block read_committed readers of its partitions until the broker
        // aborts it at this timeout: short enough for the bounded waits, far above the checkpoint interval.
        job.conf.set(JobOptions.TRANSACTION_TIMEOUT, Duration.ofSeconds(45));
        job.partitions = PARALLELISM;
        return job;
    }

    /** An environment submitting to {@code miniCluster}, with the job's checkpointing and restart settings. */
    private static StreamExecutionEnvironment environment(MiniCluster miniCluster, RunningJob job) {
        Configuration conf = StreamingAnnotationJob.environmentConfiguration(job.settings());
        return new TestStreamEnvironment(miniCluster, conf, PARALLELISM, List.of(), List.of());
    }

    private static AnnotationRequest request(int i) {
        return Requests.inline("r" + i, Task.CAPTION, Requests.image(4, 4, "png", i));
    }

    private static void send(RunningJob job, int from, int to) {
        job.topics.sendRequests(job.settings().requestsTopic(),
                IntStream.range(from, to).mapToObj(TwoTaskManagerFailureTest::request).toList());
    }

    private static void sendAndAwait(RunningJob job, int from, int to) {
        send(job, from, to);
        awaitResults(job, to);
    }

    /** Waits (bounded) until at least {@code count} results are committed. */
    private static void awaitResults(RunningJob job, int count) {
        List<String> ids = job.topics.readCommitted(List.of(job.settings().resultsTopic()), count, Topics::result,
                Duration.ZERO).stream().map(AnnotationResult::getId).toList();
        if (ids.size() < count) {
            List<String> deadLetters = job.topics.readCommitted(List.of(job.settings().deadLetterTopic()), 0,
                    Topics::failure, Duration.ofSeconds(2)).stream()
                    .map(f -> f.getId() + ":" + f.getErrorCode() + ":" + f.getMessage()).toList();
            List<String> missing = IntStream.range(0, count).mapToObj(i -> "r" + i).filter(i -> !ids.contains(i)).toList();
            throw new AssertionError("only " + ids.size() + " of " + count + " results committed; missing " + missing
                    + "; dead letters " + deadLetters);
        }
    }

    private static void assertEveryIdExactlyOnce(RunningJob job, int count) throws Exception {
        List<String> ids = job.topics.readCommitted(List.of(job.settings().resultsTopic()), count, Topics::result)
                .stream().map(AnnotationResult::getId).toList();
        assertThat(ids).as("result ids, read committed")
                .containsExactlyInAnyOrderElementsOf(IntStream.range(0, count).mapToObj(i -> "r" + i).toList());
        job.awaitRunning(Duration.ofSeconds(30));
    }

    /**
     * Passes request values through; its checkpoint fails once (snapshotState throws) after the arm file appears.
     * With the job's settings (no tolerated checkpoint failures) Flink then restarts the failing subtask's region
     * from the last completed checkpoint.
     */
    static final class SnapshotFailingOnce implements MapFunction<byte[], byte[]>, CheckpointedFunction {
        private static final long serialVersionUID = 1L;

        private final String arm;
        private final String fired;

        SnapshotFailingOnce(Path arm, Path fired) {
            this.arm = arm.toString();
            this.fired = fired.toString();
        }

        @Override
        public byte[] map(byte[] value) {
            return value;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            if (Files.exists(Path.of(arm))) {
                try {
                    Files.createFile(Path.of(fired));
                } catch (java.nio.file.FileAlreadyExistsException alreadyFired) {
                    return;
                }
                throw new IOException("injected failure of checkpoint " + context.getCheckpointId());
            }
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}
    }
}
