package dev.loupe.cli;

import dev.loupe.config.OptionCatalogue;
import dev.loupe.embedded.EmbeddedRuntime;
import dev.loupe.jobs.ModelOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.jobs.DemoModel;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
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
import java.util.concurrent.ExecutionException;
import org.apache.flink.runtime.client.JobCancellationException;
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
public final class RunCommand implements Callable<Integer>, ConfiguredCommand {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "[loupe.kafka.bootstrap-servers] Kafka to read requests from and write results to. Default: start an embedded broker.")
    String bootstrapServers;

    @Option(names = "--model", paramLabel = "DIR",
            description = "[loupe.model] Model package or Hugging Face checkpoint directory (default: a tiny random-weight "
                    + "demo model the project generates; its text is meaningless).")
    Path model;

    @Option(names = "--requests-topic", paramLabel = "TOPIC", description = "[loupe.topics.requests] Default: ${DEFAULT-VALUE}.")
    String requestsTopic = JobOptions.REQUESTS_TOPIC.defaultValue();

    @Option(names = "--results-topic", paramLabel = "TOPIC", description = "[loupe.topics.results] Default: ${DEFAULT-VALUE}.")
    String resultsTopic = JobOptions.RESULTS_TOPIC.defaultValue();

    @Option(names = "--results-topic-for", paramLabel = "TASK=TOPIC",
            description = "[loupe.topics.results-per-task] Results of one task go to their own topic, e.g. caption=results.caption (repeatable).")
    Map<String, String> resultsTopicPerTask = new LinkedHashMap<>();

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC", description = "[loupe.topics.dead-letters] Default: ${DEFAULT-VALUE}.")
    String deadLetterTopic = JobOptions.DEAD_LETTER_TOPIC.defaultValue();

    @Option(names = "--group-id", paramLabel = "ID", description = "[loupe.kafka.group-id] Consumer group. Default: ${DEFAULT-VALUE}.")
    String groupId = JobOptions.GROUP_ID.defaultValue();

    @Option(names = "--transactional-id-prefix", paramLabel = "PREFIX",
            description = "[loupe.kafka.transactional-id-prefix] Unique per job on a Kafka cluster. Default: ${DEFAULT-VALUE}.")
    String transactionalIdPrefix = JobOptions.TRANSACTIONAL_ID_PREFIX.defaultValue();

    @Option(names = "--allowed-root", paramLabel = "DIR", arity = "1..*",
            description = "[loupe.fetch.file-roots] Folders that file: image URIs may point into (repeatable). Default: none, every "
                    + "file: URI is refused.")
    List<Path> allowedRoots = new ArrayList<>();

    @Option(names = "--allowed-host", paramLabel = "HOST|IP|CIDR", arity = "1..*",
            description = "[loupe.fetch.allowed-hosts] Internal hosts, IP addresses or CIDR ranges that http(s) image URIs may reach (repeatable),"
                    + " e.g. an internal image store. Default: none; loopback, private, link-local and metadata"
                    + " addresses are refused.")
    List<String> allowedHosts = new ArrayList<>();

    @Option(names = "--batch-size", paramLabel = "N", description = "[batch.max-size] Largest inference batch. Default: ${DEFAULT-VALUE}.")
    int batchSize = LoupeOptions.BATCH_MAX_SIZE.defaultValue();

    @Option(names = "--batch-delay", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "[batch.max-delay] Longest wait to fill a batch, e.g. 50ms. Default: 50ms.")
    Duration batchDelay = LoupeOptions.BATCH_MAX_DELAY.defaultValue();

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "[loupe.checkpoint.interval] Exactly-once checkpoint interval, e.g. 10s (results become visible to "
                    + "read_committed readers at each checkpoint). Default: 10s.")
    Duration checkpointInterval = JobOptions.CHECKPOINT_INTERVAL.defaultValue();

    @Option(names = "--parallelism", paramLabel = "N", description = "[loupe.parallelism] Default: ${DEFAULT-VALUE}.")
    int parallelism = JobOptions.PARALLELISM.defaultValue();

    @Option(names = "--restart-attempts", paramLabel = "N",
            description = "[loupe.restart.attempts] Restarts from the last checkpoint before failing. Default: ${DEFAULT-VALUE}.")
    int restartAttempts = JobOptions.RESTART_ATTEMPTS.defaultValue();

    @Option(names = "--demo-images", paramLabel = "DIR", arity = "0..1", fallbackValue = "",
            description = "Send one request per image in DIR (caption, and a VQA question for every second image; "
                    + "DIR becomes an allowed root) and print the results and dead letters as they arrive. Without "
                    + "DIR: a few sample images the project generates under the cache (loupe.runtime.cache-dir)"
                    + "/demo/images; a missing DIR is created with them.")
    String demoImages;

    @CommandLine.Mixin
    ConfigurationOptions configuration = new ConfigurationOptions();

    @CommandLine.Mixin
    KafkaClientOptions kafka = new KafkaClientOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Every option {@code loupe run} and the streaming job read. */
    public static final OptionCatalogue CATALOGUE =
            OptionCatalogue.of(JobOptions.class, LoupeOptions.class, ModelOptions.class);

    /** Stands in for the embedded broker's address while checking options, before the broker starts. */
    private static final String UNKNOWN_YET = "127.0.0.1:9092";

    /** Parses {@code loupe run}'s arguments without running (used by {@link StreamingAnnotationJob#main}). */
    public static RunCommand parse(String... args) {
        RunCommand command = new RunCommand();
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Override
    public OptionCatalogue catalogue() {
        return CATALOGUE;
    }

    /** The job and pipeline options: defaults, {@code --config}, {@code -D}, then the flags given. */
    public Configuration toConfiguration() {
        return toConfiguration(Map.of());
    }

    /**
     * As {@link #toConfiguration()} over a {@code base} layer that every other source overrides: a cluster's
     * configuration (its config.yaml and {@code flink run -D} settings) when the job is submitted there.
     */
    public Configuration toConfiguration(Map<String, String> base) {
        Configuration conf = configuration.load(CATALOGUE, base);
        ConfigurationOptions.setFlag(spec, conf, "--bootstrap-servers", JobOptions.BOOTSTRAP_SERVERS, bootstrapServers);
        ConfigurationOptions.setFlag(spec, conf, "--model", ModelOptions.MODEL, model == null ? null : model.toString());
        Map<String, String> kafkaProperties = kafka.merged();
        if (!kafkaProperties.isEmpty()) {
            Map<String, String> all = new LinkedHashMap<>(conf.get(JobOptions.KAFKA_PROPERTIES));
            all.putAll(kafkaProperties);
            conf.set(JobOptions.KAFKA_PROPERTIES, all);
        }
        ConfigurationOptions.setFlag(spec, conf, "--requests-topic", JobOptions.REQUESTS_TOPIC, requestsTopic);
        ConfigurationOptions.setFlag(spec, conf, "--results-topic", JobOptions.RESULTS_TOPIC, resultsTopic);
        if (!resultsTopicPerTask.isEmpty()) {
            Map<String, String> all = new LinkedHashMap<>(conf.get(JobOptions.RESULTS_TOPIC_PER_TASK));
            all.putAll(resultsTopicPerTask);
            conf.set(JobOptions.RESULTS_TOPIC_PER_TASK, all);
        }
        ConfigurationOptions.setFlag(spec, conf, "--dead-letter-topic", JobOptions.DEAD_LETTER_TOPIC, deadLetterTopic);
        ConfigurationOptions.setFlag(spec, conf, "--group-id", JobOptions.GROUP_ID, groupId);
        ConfigurationOptions.setFlag(spec, conf, "--transactional-id-prefix", JobOptions.TRANSACTIONAL_ID_PREFIX,
                transactionalIdPrefix);
        ConfigurationOptions.setFlag(spec, conf, "--checkpoint-interval", JobOptions.CHECKPOINT_INTERVAL, checkpointInterval);
        ConfigurationOptions.setFlag(spec, conf, "--parallelism", JobOptions.PARALLELISM, parallelism);
        ConfigurationOptions.setFlag(spec, conf, "--restart-attempts", JobOptions.RESTART_ATTEMPTS, restartAttempts);
        ConfigurationOptions.setFlag(spec, conf, "--allowed-root", LoupeOptions.FETCH_FILE_ROOTS,
                allowedRoots.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList());
        ConfigurationOptions.setFlag(spec, conf, "--allowed-host", LoupeOptions.FETCH_ALLOWED_HOSTS, allowedHosts);
        ConfigurationOptions.setFlag(spec, conf, "--batch-size", LoupeOptions.BATCH_MAX_SIZE, batchSize);
        ConfigurationOptions.setFlag(spec, conf, "--batch-delay", LoupeOptions.BATCH_MAX_DELAY, batchDelay);
        return conf;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Configuration conf;
        AnnotatorFactory factory;
        List<DemoImages.Image> demo = List.of();
        boolean embedded;
        try {
            conf = toConfiguration();
            if (ModelOptions.model(conf).isEmpty()) {
                Path demoModel = DemoModel.ensure(ModelOptions.runtimeOptions(conf).cachePath());
                conf.set(ModelOptions.MODEL, demoModel.toString());
                err.println("loupe run: no --model given: using a tiny random-weight demo model (" + demoModel
                        + "); its text is meaningless. Pass --model DIR for a real checkpoint or package.");
                err.flush();
            }
            if (demoImages != null) {
                Path folder = demoImages.isEmpty()
                        ? DemoImages.defaultFolder(ModelOptions.runtimeOptions(conf).cachePath())
                        : Path.of(demoImages);
                demo = DemoImages.prepare(folder);
                List<String> roots = new ArrayList<>(conf.get(LoupeOptions.FETCH_FILE_ROOTS));
                roots.add(folder.toRealPath().toString());
                conf.set(LoupeOptions.FETCH_FILE_ROOTS, roots);
            }
            factory = ModelRuntimes.resolve(ModelOptions.model(conf).orElseThrow(), conf);
            embedded = conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).isEmpty();
            // check every option before starting anything; the embedded broker's address is not known yet
            Configuration checked = new Configuration(conf);
            if (embedded) {
                checked.set(JobOptions.BOOTSTRAP_SERVERS, UNKNOWN_YET);
            }
            JobSettings settings = JobSettings.from(checked);
            PipelineOptions.from(checked);
            if (embedded && settings.kafkaProperties().asMap().containsKey("security.protocol")) {
                throw new IllegalArgumentException("security.protocol needs --bootstrap-servers: the embedded "
                        + "broker only has a PLAINTEXT listener");
            }
        } catch (IllegalArgumentException | java.io.IOException e) {
            err.println("loupe run: " + e.getMessage());
            err.flush();
            return 2;
        }
        return embedded ? runEmbedded(conf, factory, demo) : runAgainst(conf, factory, demo);
    }

    private int runAgainst(Configuration conf, AnnotatorFactory factory, List<DemoImages.Image> demo) throws Exception {
        JobSettings settings = JobSettings.from(conf);
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(StreamingAnnotationJob.environmentConfiguration(settings));
        StreamingAnnotationJob.build(env, settings, factory, conf);
        JobClient job = env.executeAsync(StreamingAnnotationJob.JOB_NAME);
        try (DemoFeed feed = demo.isEmpty() ? null : DemoFeed.start(settings, demo, System.out)) {
            return awaitEnd(job);
        }
    }

    private int runEmbedded(Configuration conf, AnnotatorFactory factory, List<DemoImages.Image> demo) throws Exception {
        Configuration probe = new Configuration(conf);
        probe.set(JobOptions.BOOTSTRAP_SERVERS, UNKNOWN_YET);
        List<String> topics = JobSettings.from(probe).allTopics();
        EmbeddedRuntime runtime = EmbeddedRuntime.start(topics);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.out.println("loupe run: stopping ...");
            runtime.close();
            stopped.countDown();
        }, "loupe-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        DemoFeed feed = null;
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
            if (!demo.isEmpty()) {
                feed = DemoFeed.start(settings, demo, System.out);
            }
            return awaitEnd(job);
        } finally {
            if (feed != null) {
                feed.close();
            }
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

    /** Waits for the job to end; a job cancelled from outside (web UI, REST, Ctrl-C) is a normal stop. */
    private static int awaitEnd(JobClient job) throws Exception {
        try {
            job.getJobExecutionResult().get();
            return 0;
        } catch (ExecutionException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof JobCancellationException) {
                    System.out.println("loupe run: the streaming job was cancelled");
                    return 0;
                }
            }
            throw e;
        }
    }
}
