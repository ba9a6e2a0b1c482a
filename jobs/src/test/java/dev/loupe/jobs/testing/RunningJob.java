package dev.loupe.jobs.testing;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
import dev.loupe.model.api.AnnotatorFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The streaming job on its own MiniCluster against the shared broker (or a given one), with topics unique to one test:
 * {@code <name>.requests}, {@code <name>.results}, {@code <name>.dead-letters}.
 */
public final class RunningJob implements AutoCloseable {

    public final String name = "t" + UUID.randomUUID().toString().substring(0, 8);
    public final EmbeddedKafka kafka;
    public final Topics topics;
    public final Configuration conf = new Configuration();
    /** Partitions of each topic the job creates. */
    public int partitions = 1;
    private JobClient client;

    public RunningJob() {
        this(SharedKafka.get());
    }

    /** A job against {@code kafka} (its client properties are not set: tests set {@link JobOptions#KAFKA_PROPERTIES}). */
    public RunningJob(EmbeddedKafka kafka) {
        this.kafka = kafka;
        this.topics = new Topics(kafka);
        conf.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(JobOptions.REQUESTS_TOPIC, name + ".requests");
        conf.set(JobOptions.RESULTS_TOPIC, name + ".results");
        conf.set(JobOptions.DEAD_LETTER_TOPIC, name + ".dead-letters");
        conf.set(JobOptions.GROUP_ID, name);
        conf.set(JobOptions.TRANSACTIONAL_ID_PREFIX, name);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(2));
        conf.set(JobOptions.RESTART_DELAY, Duration.ofMillis(200));
        conf.set(JobOptions.PARALLELISM, 1);
    }

    public JobSettings settings() {
        return JobSettings.from(conf);
    }

    /** Creates the topics and submits the job built by {@link StreamingAnnotationJob#build} on its own local MiniCluster. */
    public RunningJob start(AnnotatorFactory factory) throws Exception {
        return start(factory, environment(settings()));
    }

    /** Creates the topics and submits the job built by {@link StreamingAnnotationJob#build} on {@code env}. */
    public RunningJob start(AnnotatorFactory factory, StreamExecutionEnvironment env) throws Exception {
        JobSettings settings = settings();
        kafka.createTopics(partitions, settings.allTopics());
        StreamingAnnotationJob.build(env, settings, factory, conf);
        client = env.executeAsync(name);
        return this;
    }

    /**
     * As {@link #start(AnnotatorFactory, StreamExecutionEnvironment)}, with {@code between} applied to the request
     * values between the Kafka source and the pipeline (to add a test operator, e.g. one whose checkpoint fails).
     */
    public RunningJob start(AnnotatorFactory factory, StreamExecutionEnvironment env,
            UnaryOperator<DataStream<byte[]>> between) throws Exception {
        JobSettings settings = settings();
        kafka.createTopics(partitions, settings.allTopics());
        // as StreamingAnnotationJob.build, with the extra operator
        env.enableCheckpointing(settings.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
        env.setParallelism(settings.parallelism());
        StreamingAnnotationJob.annotateAndSink(between.apply(StreamingAnnotationJob.source(env, settings)), settings,
                factory, conf);
        client = env.executeAsync(name);
        return this;
    }

    /** Waits (at most {@code limit}) until the job is RUNNING again, e.g. after a restart; fails saying its status. */
    public void awaitRunning(Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        JobStatus status = client.getJobStatus().get(30, TimeUnit.SECONDS);
        while (status != JobStatus.RUNNING && System.nanoTime() < deadline) {
            if (status.isGloballyTerminalState()) {
                break;
            }
            Thread.sleep(100);
            status = client.getJobStatus().get(30, TimeUnit.SECONDS);
        }
        if (status != JobStatus.RUNNING) {
            throw new AssertionError("job " + name + " is " + status + ", not RUNNING, after waiting up to " + limit);
        }
    }

    /**
     * Stops the job gracefully: a final savepoint (whose completion commits the sinks' open transactions) into
     * {@code savepoints}, then waits (at most a minute) until the job has ended.
     *
     * @return the savepoint's path, for {@link #environment(JobSettings, String)}
     */
    public String stop(Path savepoints) throws Exception {
        String savepoint = client.stopWithSavepoint(false, savepoints.toUri().toString(),
                SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
        client.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        return savepoint;
    }

    /** The local environment for {@code settings} (checkpointing, restarts, parallelism as the job sets them). */
    public static StreamExecutionEnvironment environment(JobSettings settings) {
        return environment(settings, null);
    }

    /** As {@link #environment(JobSettings)}, the job restoring from {@code savepoint} when not null. */
    public static StreamExecutionEnvironment environment(JobSettings settings, String savepoint) {
        Configuration envConf = StreamingAnnotationJob.environmentConfiguration(settings);
        if (savepoint != null) {
            envConf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        envConf.setString("taskmanager.memory.network.min", "16mb");
        envConf.setString("taskmanager.memory.network.max", "16mb");
        return StreamExecutionEnvironment.createLocalEnvironment(envConf);
    }

    public RunningJob started(JobClient client) {
        this.client = client;
        return this;
    }

    public JobClient client() {
        return client;
    }

    @Override
    public void close() throws Exception {
        if (client != null) {
            try {
                client.cancel().get(60, TimeUnit.SECONDS);
            } catch (Exception alreadyDone) {
                // finished or failed: nothing to cancel
            }
            try {
                client.getJobExecutionResult().get(60, TimeUnit.SECONDS);
            } catch (Exception expected) {
                // cancelled
            }
        }
    }
}
