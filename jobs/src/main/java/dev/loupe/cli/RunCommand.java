package dev.loupe.cli;

import dev.loupe.embedded.EmbeddedRuntime;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.jobs.JobOptions;
import dev.loupe.jobs.JobSettings;
import dev.loupe.jobs.DemoModel;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.jobs.StreamingAnnotationJob;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe run}: the streaming annotation job. With {@code --bootstrap-servers} it runs against that Kafka
 * cluster (locally, or on the cluster when launched through {@code flink run}); without, it starts the
 * embedded runtime (in-process Kafka broker and Flink MiniCluster) and runs until Ctrl-C.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the streaming annotation job (Kafka in, Kafka out, exactly once). Without "
                + "--bootstrap-servers it starts an in-process Kafka broker and a local Flink MiniCluster.")
public final class RunCommand implements Callable<Integer> {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "Kafka to read requests from and write results to. Default: start an embedded broker.")
    String bootstrapServers;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model package or Hugging Face checkpoint directory (default: a tiny random-weight "
                    + "demo model the project generates; its text is meaningless).")
    Path model;

    @Option(names = "--requests-topic", paramLabel = "TOPIC", description = "Default: ${DEFAULT-VALUE}.")
    String requestsTopic = JobOptions.REQUESTS_TOPIC.defaultValue();

    @Option(names = "--results-topic", paramLabel = "TOPIC", description = "Default: ${DEFAULT-VALUE}.")
    String resultsTopic = JobOptions.RESULTS_TOPIC.defaultValue();

    @Option(names = "--results-topic-for", paramLabel = "TASK=TOPIC",
            description = "Results of one task go to their own topic, e.g. caption=results.caption (repeatable).")
    Map<String, String> resultsTopicPerTask = new LinkedHashMap<>();

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC", description = "Default: ${DEFAULT-VALUE}.")
    String deadLetterTopic = JobOptions.DEAD_LETTER_TOPIC.defaultValue();

    @Option(names = "--group-id", paramLabel = "ID", description = "Consumer group. Default: ${DEFAULT-VALUE}.")
    String groupId = JobOptions.GROUP_ID.defaultValue();

    @Option(names = "--transactional-id-prefix", paramLabel = "PREFIX",
            description = "Unique per job on a Kafka cluster. Default: ${DEFAULT-VALUE}.")
    String transactionalIdPrefix = JobOptions.TRANSACTIONAL_ID_PREFIX.defaultValue();

    @Option(names = "--allowed-root", paramLabel = "DIR", arity = "1..*",
            description = "Folders that file: image URIs may point into (repeatable). Default: none, every "
                    + "file: URI is refused.")
    List<Path> allowedRoots = new ArrayList<>();

    @Option(names = "--allowed-host", paramLabel = "HOST|IP|CIDR", arity = "1..*",
            description = "Internal hosts, IP addresses or CIDR ranges that http(s) image URIs may reach (repeatable),"
                    + " e.g. an internal image store. Default: none; loopback, private, link-local and metadata"
                    + " addresses are refused.")
    List<String> allowedHosts = new ArrayList<>();

    @Option(names = "--batch-size", paramLabel = "N", description = "Largest inference batch. Default: ${DEFAULT-VALUE}.")
    int batchSize = LoupeOptions.BATCH_MAX_SIZE.defaultValue();

    @Option(names = "--batch-delay", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Longest wait to fill a batch, e.g. 50ms. Default: 50ms.")
    Duration batchDelay = LoupeOptions.BATCH_MAX_DELAY.defaultValue();

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Exactly-once checkpoint interval, e.g. 10s (results become visible to "
                    + "read_committed readers at each checkpoint). Default: 10s.")
    Duration checkpointInterval = JobOptions.CHECKPOINT_INTERVAL.defaultValue();

    @Option(names = "--parallelism", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int parallelism = JobOptions.PARALLELISM.defaultValue();

    @Option(names = "--restart-attempts", paramLabel = "N",
            description = "Restarts from the last checkpoint before failing. Default: ${DEFAULT-VALUE}.")
    int restartAttempts = JobOptions.RESTART_ATTEMPTS.defaultValue();

    @Option(names = {"-D", "--conf"}, paramLabel = "KEY=VALUE",
            description = "Any other job, pipeline or Flink option, e.g. -D loupe.fetch.concurrency=8.")
    Map<String, String> extra = new LinkedHashMap<>();

    @CommandLine.Mixin
    KafkaClientOptions kafka = new KafkaClientOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Stands in for the embedded broker's address while checking options, before the broker starts. */
    private static final String UNKNOWN_YET = "127.0.0.1:9092";

    /** Parses {@code loupe run}'s arguments without running (used by {@link StreamingAnnotationJob#main}). */
    public static RunCommand parse(String... args) {
        RunCommand command = new RunCommand();
        new CommandLine(command).parseArgs(args);
        return command;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public Path model() {
        return model;
    }

    /** The job and pipeline options as one Flink configuration ({@link JobOptions}, {@link LoupeOptions}). */
    public Configuration toConfiguration() {
        Configuration conf = Configuration.fromMap(extra);
        if (bootstrapServers != null) {
            conf.set(JobOptions.BOOTSTRAP_SERVERS, bootstrapServers);
        }
        Map<String, String> kafkaProperties = kafka.merged();
        if (!kafkaProperties.isEmpty()) {
            conf.set(JobOptions.KAFKA_PROPERTIES, kafkaProperties);
        }
        conf.set(JobOptions.REQUESTS_TOPIC, requestsTopic);
        conf.set(JobOptions.RESULTS_TOPIC, resultsTopic);
        if (!resultsTopicPerTask.isEmpty()) {
            conf.set(JobOptions.RESULTS_TOPIC_PER_TASK, resultsTopicPerTask);
        }
        conf.set(JobOptions.DEAD_LETTER_TOPIC, deadLetterTopic);
        conf.set(JobOptions.GROUP_ID, groupId);
        conf.set(JobOptions.TRANSACTIONAL_ID_PREFIX, transactionalIdPrefix);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, checkpointInterval);
        conf.set(JobOptions.PARALLELISM, parallelism);
        conf.set(JobOptions.RESTART_ATTEMPTS, restartAttempts);
        if (!allowedRoots.isEmpty()) {
            conf.set(LoupeOptions.FETCH_FILE_ROOTS,
                    allowedRoots.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList());
        }
        if (!allowedHosts.isEmpty()) {
            conf.set(LoupeOptions.FETCH_ALLOWED_HOSTS, allowedHosts);
        }
        conf.set(LoupeOptions.BATCH_MAX_SIZE, batchSize);
        conf.set(LoupeOptions.BATCH_MAX_DELAY, batchDelay);
        return conf;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        AnnotatorFactory factory;
        try {
            if (model == null) {
                model = DemoModel.ensure(RuntimeOptions.defaults().cachePath());
                err.println("loupe run: no --model given: using a tiny random-weight demo model (" + model
                        + "); its text is meaningless. Pass --model DIR for a real checkpoint or package.");
                err.flush();
            }
            factory = ModelRuntimes.resolve(model, toConfiguration());
            if (bootstrapServers != null) {
                return runAgainst(JobSettings.from(toConfiguration()), factory);
            }
            // check every option before starting anything; the embedded broker's address is not known yet
            Configuration checked = toConfiguration();
            checked.set(JobOptions.BOOTSTRAP_SERVERS, UNKNOWN_YET);
            JobSettings embeddedSettings = JobSettings.from(checked);
            PipelineOptions.from(checked);
            if (embeddedSettings.kafkaProperties().asMap().containsKey("security.protocol")) {
                throw new IllegalArgumentException("security.protocol needs --bootstrap-servers: the embedded "
                        + "broker only has a PLAINTEXT listener");
            }
        } catch (IllegalArgumentException e) {
            err.println("loupe run: " + e.getMessage());
            err.flush();
            return 2;
        }
        return runEmbedded(factory);
    }

    private int runAgainst(JobSettings settings, AnnotatorFactory factory) throws Exception {
        Configuration conf = toConfiguration();
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(StreamingAnnotationJob.environmentConfiguration(settings));
        StreamingAnnotationJob.build(env, settings, factory, conf);
        env.execute(StreamingAnnotationJob.JOB_NAME);
        return 0;
    }

    private int runEmbedded(AnnotatorFactory factory) throws Exception {
        Configuration conf = toConfiguration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, UNKNOWN_YET);
        List<String> topics = JobSettings.from(conf).allTopics();
        EmbeddedRuntime runtime = EmbeddedRuntime.start(topics);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.out.println("loupe run: stopping ...");
            runtime.close();
            stopped.countDown();
        }, "loupe-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            conf.set(JobOptions.BOOTSTRAP_SERVERS, runtime.bootstrapServers());
            JobSettings settings = JobSettings.from(conf);
            StreamExecutionEnvironment env = runtime.environment(StreamingAnnotationJob.environmentConfiguration(settings));
            StreamingAnnotationJob.build(env, settings, factory, conf);
            JobClient job = runtime.submit(env, StreamingAnnotationJob.JOB_NAME);
            System.out.println("loupe run: streaming job " + job.getJobID() + " is running");
            System.out.println(runtime.describe(topics));
            System.out.println("Press Ctrl-C to stop.");
            System.out.flush();
            job.getJobExecutionResult().get();
            return 0;
        } finally {
            if (stopped.getCount() > 0) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    stopped.await();
                }
                runtime.close();
            }
        }
    }
}
