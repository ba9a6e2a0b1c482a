package dev.loupe.jobs.testing;

import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.jobs.JobOptions;
import dev.loupe.jobs.JobSettings;
import dev.loupe.jobs.StreamingAnnotationJob;
import dev.loupe.model.api.AnnotatorFactory;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
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

    /** Creates the topics and submits the job built by {@link StreamingAnnotationJob#build}. */
    public RunningJob start(AnnotatorFactory factory) throws Exception {
        JobSettings settings = settings();
        kafka.createTopics(partitions, settings.allTopics());
        StreamExecutionEnvironment env = environment(settings);
        StreamingAnnotationJob.build(env, settings, factory, conf);
        client = env.executeAsync(name);
        return this;
    }

    /** The local environment for {@code settings} (checkpointing, restarts, parallelism as the job sets them). */
    public static StreamExecutionEnvironment environment(JobSettings settings) {
        Configuration envConf = StreamingAnnotationJob.environmentConfiguration(settings);
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
