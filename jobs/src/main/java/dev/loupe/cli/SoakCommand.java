package dev.loupe.cli;

import dev.loupe.model.files.FileTrees;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.embedded.EmbeddedKafka;
import dev.loupe.embedded.EmbeddedRuntime;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.jobs.DemoModel;
import dev.loupe.jobs.StopOnExit;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.bounded.ResultStages;
import dev.loupe.jobs.soak.CheckpointStats;
import dev.loupe.jobs.soak.ResultTimings;
import dev.loupe.jobs.soak.SoakInputs;
import dev.loupe.jobs.soak.SoakLatencies;
import dev.loupe.jobs.soak.SoakRun;
import dev.loupe.jobs.soak.SoakTally;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.schemas.Task;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe bench soak}: a bounded soak run of the streaming job on the embedded runtime (in-process Kafka broker
 * and Flink MiniCluster) with a real model (the tiny demo model by default): N requests, a fraction of them bad in
 * several ways, every outcome read back exactly once, heap watched after warm-up. Exit status 0 only when every
 * good request got exactly one result and every bad one exactly one dead letter.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Soak run of the streaming job on the embedded runtime: N requests (a fraction bad), every "
                + "outcome counted (results, dead letters, duplicates, lost), throughput, heap after GC from "
                + "warm-up to the end. Exit status 1 if anything was lost, duplicated or misrouted.")
public final class SoakCommand implements Callable<Integer>, RuntimeCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--requests", defaultValue = "20000", description = "Requests to send. Default ${DEFAULT-VALUE}.")
    int requests;

    @Option(names = "--bad-fraction", defaultValue = "0.05",
            description = "Fraction of bad requests (corrupt or truncated bytes, missing files, bad task or "
                    + "generation options, undecodable records). Default ${DEFAULT-VALUE}.")
    double badFraction;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model package or checkpoint. Default: the tiny random-weight demo model.")
    Path model;

    @Option(names = "--max-new-tokens", defaultValue = "8", description = "Per request. Default ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--min-new-tokens", paramLabel = "N",
            description = "Fewest tokens generated per request (with --max-new-tokens N the same work as loupe bench's "
                    + "min = max). Default: the model's.")
    Integer minNewTokens;

    @Option(names = "--length-mix", split = ",", paramLabel = "N[,N...]",
            description = "New-token counts the requests ask for in turn (min = max), e.g. 4,8,32,64: short answers "
                    + "and long captions interleaved; latency is then reported per count. Overrides --max-new-tokens "
                    + "and --min-new-tokens.")
    List<Integer> lengthMix = List.of();

    @Option(names = "--scheduling", defaultValue = Scheduling.DEFAULT_NAME, paramLabel = "static|continuous",
            description = "The inference operator's scheduling (batch.scheduling): static batches, or continuous "
                    + "batching where requests join the decoding rows step by step. Default ${DEFAULT-VALUE}, the jobs'.")
    String scheduling;

    @Option(names = "--transaction-naming", defaultValue = "incrementing", paramLabel = "incrementing|pooling",
            description = "How the job's exactly-once sinks name their transactions (loupe.kafka.transaction-naming): "
                    + "a new transactional id per checkpoint, or a few reused ones. Default ${DEFAULT-VALUE}.")
    String transactionNaming;

    @Option(names = "--rate", paramLabel = "PER_SECOND", defaultValue = "0",
            description = "Write the requests at this pace (requests per second) while reading results, as a stream "
                    + "arrives, instead of all at once (0, the default): with a backlog, latency measures how long "
                    + "the backlog takes; at a pace below capacity, how long a request takes to be served.")
    double rate;

    @Option(names = "--image-size", paramLabel = "WIDTHxHEIGHT", converter = ImageSize.Converter.class,
            description = "Size of the random images (e.g. 640x480, loupe bench's). Default: eight small images "
                    + "of 24x20 to 80x62.")
    ImageSize imageSize;

    @Option(names = "--tasks", split = ",", paramLabel = "TASK[,TASK...]",
            description = "Tasks the good requests take in turn: caption, vqa (a question), rank (three candidates "
                    + "scored, nothing generated). Default: caption,vqa,rank. With caption alone and "
                    + "--distinct-images at least --requests, the soak asks for loupe bench's work (with "
                    + "--min-new-tokens N --max-new-tokens N and --image-size 640x480).")
    List<String> tasks = List.of();

    @Option(names = "--distinct-images", paramLabel = "N",
            defaultValue = "" + SoakInputs.DEFAULT_DISTINCT_IMAGES,
            description = "Distinct images the requests cycle through (written before the run). With fewer images "
                    + "than a batch, requests of one batch share an image and its vision pass (the image feature "
                    + "cache is off); as many as --requests gives every request its own image. "
                    + "Default ${DEFAULT-VALUE}.")
    int distinctImages;

    @Option(names = "--image-format", defaultValue = "jpeg", paramLabel = "jpeg|png",
            description = "Encoding of the random images: jpeg (quality 0.9, what a stream of photos sends) or png "
                    + "(lossless: for photo-like 640x480 content about six times the bytes through Kafka and "
                    + "the checkpoints, and several times the decoding work). Default ${DEFAULT-VALUE}.")
    String imageFormat;


    @Option(names = "--parallelism", defaultValue = "1", description = "Job parallelism. Default ${DEFAULT-VALUE}.")
    int parallelism;

    @Option(names = "--batch-size", description = "Largest inference batch. Default: the job's default.")
    Integer batchSize;

    @Option(names = "--checkpoint-interval", defaultValue = "1s", converter = DurationConverter.class,
            description = "Exactly-once checkpoint interval (the job's loupe.checkpoint.interval, 10 s in production). "
                    + "A result is read committed only once the checkpoint after it completes, so the reported latency "
                    + "includes about half an interval plus the checkpoint; the 'served' latency leaves that out. "
                    + "Shorter intervals checkpoint the requests held, with their images, more often. "
                    + "Default ${DEFAULT-VALUE}.")
    Duration checkpointInterval;

    @Option(names = "--warmup-requests", paramLabel = "N", defaultValue = "32",
            description = "Requests of the measured run's work written and read back before its clock starts (as "
                    + "loupe bench runs a warm-up batch): the JIT compiles the job's code on them and the heap's "
                    + "first figure is taken after them; their outcomes are checked too (a duplicate fails the run). "
                    + "0 measures from a cold job. Default ${DEFAULT-VALUE}.")
    int warmupRequests;

    @Option(names = "--write-ahead", paramLabel = "N", defaultValue = "" + SoakRun.DEFAULT_WRITE_AHEAD,
            description = "Without --rate: the most requests written ahead of the outcomes read back. The job keeps a "
                    + "backlog of about N requests (it never waits for input), and the writer does not put the whole "
                    + "run into Kafka in its first seconds, on the cores the job computes on; the latency under a "
                    + "backlog is then the time through a backlog of N. 0 writes every request at once. "
                    + "Default ${DEFAULT-VALUE}.")
    int writeAhead;

    @Option(names = "--broker", defaultValue = "process", paramLabel = "process|in-process",
            description = "Where the embedded Kafka broker runs: in a JVM of its own (process: its threads, JIT "
                    + "compilation and garbage stay out of the job's process, as a production job's broker runs "
                    + "elsewhere; it still shares this machine's cores, so its CPU still counts in the figure) or in "
                    + "the job's JVM (in-process, as loupe run). JVM options of its own process: "
                    + "LOUPE_BROKER_JAVA_OPTS (default: serial GC, small heap, C1 compiler only). "
                    + "Default ${DEFAULT-VALUE}.")
    String broker;

    @Option(names = "--broker-niceness", defaultValue = "0", paramLabel = "0..19",
            description = "Nice value of the broker's own process (--broker process): above 0 the kernel favours "
                    + "the job's threads when both want a core, as if the broker had cores of its own; the job "
                    + "still waits for the broker whenever it needs it (requests to read, transactions to commit), "
                    + "and that wait counts in the figure. Default ${DEFAULT-VALUE}.")
    int brokerNiceness;

    @Option(names = "--timeout", defaultValue = "30m", converter = DurationConverter.class,
            description = "Longest wait for all outcomes. Default ${DEFAULT-VALUE}.")
    Duration timeout;

    @Option(names = "--seed", defaultValue = "7", description = "Seed of the random images. Default ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of the text report; its "
            + "requests_per_second counts from the first request written to the last outcome read (requests are written once every task "
            + "runs and the --warmup-requests are read back: the start-up of the broker and the job, the model's loading, "
            + "the warm-up, the final watch for duplicates and the forced full GCs are excluded; without a warm-up the "
            + "first tenth's forced full GC is inside); steady_results_per_second is the rate the job wrote the "
            + "middle 80 percent of its results at, once its pipeline was full (the first batch's and the last commit's "
            + "latency, inside the window, left out).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        PrintStream err = System.err;
        if (parallelism < 1) {
            throw usage("--parallelism must be at least 1");
        }
        if (warmupRequests < 0) {
            throw usage("--warmup-requests must be at least 0");
        }
        if (writeAhead < 0) {
            throw usage("--write-ahead must be at least 0");
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw usage("--rate must be a number of requests per second >= 0, got " + rate);
        }
        scheduling();   // refused before anything starts
        transactionNaming();
        EmbeddedKafka brokerToStart = broker();
        imageFormat();
        tasks();
        Path work = Files.createTempDirectory("loupe-soak-");
        try {
            SoakInputs inputs;
            try {
                inputs = SoakInputs.prepare(requests, badFraction, work(), work.resolve("images"), seed)
                        .withLengthMix(lengthMix);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            // The requests cycle through a few images: the image feature cache off, they pay the vision encoder as
            // a stream of new images would (duplicates within one batch still share one pass).
            RuntimeOptions runtime = runtimeOptions().withVisionCacheBytes(0);
            Path modelDir = model != null ? model : DemoModel.ensure(runtime.cachePath());
            Configuration conf = configuration(work.resolve("images"));
            conf.set(JobOptions.BOOTSTRAP_SERVERS, "127.0.0.1:9092"); // replaced by the embedded broker's below
            JobSettings checked = JobSettings.from(conf);
            List<String> topics = checked.allTopics();
            AnnotatorFactory factory = Models.open(modelDir, runtime, ModelRuntimes.imageLimits(conf));
            try (EmbeddedRuntime embedded = EmbeddedRuntime.start(brokerToStart, parallelism, topics);
                 StopOnExit onExit = StopOnExit.register("loupe-soak-stop", embedded::close)) {
                conf.set(JobOptions.BOOTSTRAP_SERVERS, embedded.bootstrapServers());
                JobSettings settings = checked.withBootstrapServers(embedded.bootstrapServers());
                Configuration envConfig = StreamingAnnotationJob.environmentConfiguration(settings);
                // requests in flight are checkpointed with their images: more than the 5 MB memory-backed storage holds
                envConfig.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, work.resolve("checkpoints").toUri().toString());
                StreamExecutionEnvironment env = embedded.environment(envConfig);
                StreamingAnnotationJob.build(env, settings, factory, conf);
                JobClient job = embedded.submit(env, StreamingAnnotationJob.JOB_NAME + "-soak");
                // start-up (task deployment, the model's loading) is not part of the measured run
                if (!embedded.awaitTasksRunning(job, Duration.ofMinutes(5))) {
                    err.println("soak: the job's tasks did not start running within 5 minutes; measuring anyway");
                }
                // checkpoints triggered while the tasks started (the model loading) were refused: not the run's
                Optional<CheckpointStats> atStart = CheckpointStats.fetch(embedded.webUrl(), job.getJobID().toString());
                err.printf(Locale.ROOT, "soak: %d requests (%d bad) through the embedded runtime, model %s, "
                                + "parallelism %d, checkpoint interval %d ms, broker %s%n", requests, inputs.badCount(),
                        modelDir, parallelism, checkpointInterval.toMillis(), brokerPlacement(embedded));
                SoakRun.Report report = new SoakRun(settings, inputs, timeout, rate, warmupRequests, writeAhead,
                        line -> err.println("soak: " + line))
                        .run(() -> isRunning(job));
                Optional<CheckpointStats> checkpoints = CheckpointStats.fetch(embedded.webUrl(),
                        job.getJobID().toString()).map(end -> atStart.map(end::since).orElse(end));
                if (json) {
                    printJson(out, modelDir, report, checkpoints);
                } else {
                    printText(out, modelDir, report, checkpoints);
                }
                out.flush();
                return report.ok() ? 0 : 1;
            }
        } finally {
            FileTrees.deleteRecursively(work);
        }
    }

    private Configuration configuration(Path imageRoot) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.CHECKPOINT_INTERVAL, checkpointInterval);
        conf.set(JobOptions.PARALLELISM, parallelism);
        conf.set(JobOptions.GROUP_ID, "loupe-soak");
        conf.set(JobOptions.TRANSACTIONAL_ID_PREFIX, "loupe-soak");
        conf.set(LoupeOptions.FETCH_FILE_ROOTS, List.of(imageRoot.toAbsolutePath().toString()));
        if (batchSize != null) {
            conf.set(LoupeOptions.BATCH_MAX_SIZE, batchSize);
        }
        conf.set(LoupeOptions.BATCH_SCHEDULING, scheduling());
        conf.set(JobOptions.TRANSACTION_NAMING, transactionNaming());
        return conf;
    }

    private static boolean isRunning(JobClient job) {
        try {
            return !job.getJobStatus().get(30, TimeUnit.SECONDS).isGloballyTerminalState();
        } catch (Exception e) {
            return false;
        }
    }

    private void printText(PrintStream out, Path modelDir, SoakRun.Report r, Optional<CheckpointStats> checkpoints) {
        SoakTally.Counts c = r.counts();
        out.printf(Locale.ROOT, "model: %s (%s new tokens), parallelism %d, checkpoint interval %d ms%n", modelDir,
                lengthMix.isEmpty() ? "max " + maxNewTokens : "in turn " + lengthMix, parallelism,
                checkpointInterval.toMillis());
        out.printf(Locale.ROOT, "requests:      %d (%d good, %d bad); tasks in turn %s over %d distinct images%n",
                c.requests(), c.good(), c.bad(), taskNames(), distinctImages);
        out.printf(Locale.ROOT, "results:       %d%n", c.results());
        out.printf(Locale.ROOT, "dead letters:  %d %s%n", c.deadLetters(), byCode(c.deadLettersByCode()));
        out.printf(Locale.ROOT, "duplicates:    %d%n", c.duplicates());
        out.printf(Locale.ROOT, "lost:          %d%n", c.lost());
        out.printf(Locale.ROOT, "wrong outcome: %d (good with a dead letter, bad with a result)%n", c.wrongOutcome());
        if (c.foreign() > 0) {
            out.printf(Locale.ROOT, "foreign:       %d records no request explains%n", c.foreign());
        }
        out.printf(Locale.ROOT, "throughput:    %.1f requests/s (%.1f s, after %d warm-up requests)%n", r.requestsPerSecond(),
                r.seconds(), warmupRequests);
        if (!Double.isNaN(r.steadyResultsPerSecond())) {
            out.printf(Locale.ROOT, "steady:        %.1f results/s (the middle %.0f %% of the results, by the time the job "
                    + "wrote them: without the pipeline's latency at the window's ends)%n", r.steadyResultsPerSecond(),
                    100 * SoakLatencies.STEADY_SHARE);
        }
        out.printf(Locale.ROOT, "scheduling:    %s%s, requests written %s%n", scheduling().name().toLowerCase(Locale.ROOT),
                lengthMix.isEmpty() ? "" : ", new tokens in turn " + lengthMix,
                rate > 0 ? String.format(Locale.ROOT, "at %.1f/s", rate)
                        : writeAhead > 0 ? "at most " + writeAhead + " ahead of the outcomes read" : "all at once");
        r.latencyByLength().forEach((length, p) -> out.printf(Locale.ROOT,
                "latency %-6s p50 %d ms, p99 %d ms, max %d ms (%d results; request written to result committed)%n",
                length + ":", p.p50(), p.p99(), p.max(), p.count()));
        r.servedByLength().forEach((length, p) -> out.printf(Locale.ROOT,
                "served  %-6s p50 %d ms, p99 %d ms, max %d ms (fetch, decode, batch wait and inference: before the "
                        + "commit)%n", length + ":", p.p50(), p.p99(), p.max()));
        r.commitWaitByLength().forEach((length, p) -> out.printf(Locale.ROOT,
                "commit  %-6s p50 %d ms, p99 %d ms, max %d ms (result handed to the sink to result read committed)%n",
                length + ":", p.p50(), p.p99(), p.max()));
        checkpoints.ifPresent(k -> out.printf(Locale.ROOT, "checkpoints:   %d completed, %d failed, trigger to "
                + "completion p50 %d ms, p99 %d ms, max %d ms (then the sinks commit)%n", k.completed(), k.failed(),
                k.p50Millis(), k.p99Millis(), k.maxMillis()));
        ResultTimings.Summary t = r.timings();
        out.printf(Locale.ROOT, "mean batch:    %.2f requests per inference batch%n", t.meanBatchSize());
        out.printf(Locale.ROOT, "stages:        %s%n", t.stages().line(t.results()));
        if (r.warmup() != null) {
            long growth = r.end().usedBytes() - r.warmup().usedBytes();
            out.printf(Locale.ROOT, "heap after GC: %.1f MiB at warm-up (%d%% of the measured run), %.1f MiB at the end (%d%%): %+.1f MiB, %s "
                            + "(tolerance %.1f MiB)%n", mib(r.warmup().usedBytes()), r.warmup().percent(),
                    mib(r.end().usedBytes()), r.end().percent(), mib(growth), r.heapFlat() ? "flat" : "GROWING",
                    mib(SoakRun.flatTolerance(r.warmup().usedBytes())));
            out.printf(Locale.ROOT, "heap series:   %s MiB (* after a forced full GC, the others after the latest GC)%n",
                    r.heap().stream().map(h -> String.format(Locale.ROOT, "%d%%=%.1f%s", h.percent(),
                            mib(h.usedBytes()), h.forced() ? "*" : ""))
                    .collect(Collectors.joining(" ")));
        }
        if (r.timedOut()) {
            out.printf(Locale.ROOT, "TIMED OUT after %d s%n", timeout.toSeconds());
        }
        if (r.jobStopped()) {
            out.println("THE JOB STOPPED before every request was accounted for");
        }
        out.println(r.ok() ? "OK: every good request got one result, every bad one one dead letter"
                : "FAILED: requests lost, duplicated or misrouted");
    }

    private void printJson(PrintStream out, Path modelDir, SoakRun.Report r, Optional<CheckpointStats> checkpoints)
            throws IOException {
        SoakTally.Counts c = r.counts();
        ObjectNode o = JSON.createObjectNode();
        o.put("model", modelDir.toString());
        o.put("parallelism", parallelism);
        o.put("requests", c.requests()).put("good", c.good()).put("bad", c.bad());
        o.put("results", c.results()).put("dead_letters", c.deadLetters());
        ObjectNode codes = o.putObject("dead_letters_by_code");
        c.deadLettersByCode().forEach(codes::put);
        o.put("duplicates", c.duplicates()).put("lost", c.lost()).put("wrong_outcome", c.wrongOutcome())
                .put("foreign", c.foreign());
        o.put("seconds", r.seconds()).put("requests_per_second", r.requestsPerSecond());
        if (!Double.isNaN(r.steadyResultsPerSecond())) {
            o.put("steady_results_per_second", r.steadyResultsPerSecond());
        }
        o.put("warmup_requests", warmupRequests);
        o.put("write_ahead", rate > 0 ? 0 : writeAhead);
        o.put("mean_batch_size", r.timings().meanBatchSize());
        o.put("scheduling", scheduling().name().toLowerCase(Locale.ROOT)).put("rate", rate)
                .put("checkpoint_interval_millis", checkpointInterval.toMillis())
                .put("transaction_naming", transactionNaming().name().toLowerCase(Locale.ROOT));
        o.put("image_format", imageFormat().name().toLowerCase(Locale.ROOT));
        o.put("broker", broker.trim().toLowerCase(Locale.ROOT)).put("broker_niceness", brokerNiceness);
        var taskArray = o.putArray("tasks");
        taskNames().forEach(taskArray::add);
        o.put("distinct_images", distinctImages);
        var mix = o.putArray("length_mix");
        lengthMix.forEach(mix::add);
        putPercentiles(o, "latency_millis_by_length", r.latencyByLength());
        putPercentiles(o, "served_millis_by_length", r.servedByLength());
        putPercentiles(o, "commit_wait_millis_by_length", r.commitWaitByLength());
        checkpoints.ifPresent(k -> o.putObject("checkpoints").put("completed", k.completed())
                .put("failed", k.failed()).put("p50_millis", k.p50Millis()).put("p99_millis", k.p99Millis())
                .put("max_millis", k.maxMillis()));
        ResultStages stages = r.timings().stages();
        long results = r.timings().results();
        o.putObject("mean_millis_per_result").put("fetch", ResultStages.mean(stages.fetchMillis(), results))
                .put("decode_resize", ResultStages.mean(stages.preprocessMillis(), results))
                .put("batch_wait", ResultStages.mean(stages.queueMillis(), results))
                .put("inference", ResultStages.mean(stages.inferenceMillis(), results));
        if (r.warmup() != null) {
            o.put("heap_warmup_bytes", r.warmup().usedBytes()).put("heap_end_bytes", r.end().usedBytes());
        }
        o.put("heap_flat", r.heapFlat());
        var series = o.putArray("heap");
        r.heap().forEach(h -> series.addObject().put("percent", h.percent()).put("accounted", h.accounted())
                .put("forced_gc", h.forced())
                .put("used_bytes", h.usedBytes()));
        o.put("timed_out", r.timedOut()).put("job_stopped", r.jobStopped()).put("ok", r.ok());
        out.println(JSON.writeValueAsString(o));
    }

    private static void putPercentiles(ObjectNode o, String name, Map<String, SoakLatencies.Percentiles> byLength) {
        ObjectNode node = o.putObject(name);
        byLength.forEach((length, p) -> node.putObject(length).put("results", p.count())
                .put("p50", p.p50()).put("p99", p.p99()).put("max", p.max()));
    }

    private static String byCode(Map<String, Long> codes) {
        return codes.isEmpty() ? "" : "(" + new java.util.TreeMap<>(codes).entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")) + ")";
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    /** The work each good request asks for, from the token and image-size flags. */
    private SoakInputs.Work work() {
        SoakInputs.Work work = SoakInputs.Work.upTo(maxNewTokens)
                .withMinNewTokens(minNewTokens == null ? 0 : minNewTokens);
        if (imageSize != null) {
            work = work.withImageSize(imageSize.width(), imageSize.height());
        }
        return work.withImageFormat(imageFormat()).withTasks(tasks()).withDistinctImages(distinctImages);
    }

    /** {@code --tasks} as the requests' tasks (every task in turn when not given). */
    private List<Task> tasks() {
        if (tasks.isEmpty()) {
            return SoakInputs.ALL_TASKS;
        }
        List<Task> parsed = new java.util.ArrayList<>();
        for (String name : tasks) {
            try {
                parsed.add(Task.valueOf(name.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw usage("--tasks: unknown task '" + name + "'; use caption, vqa or rank");
            }
        }
        return parsed;
    }

    private List<String> taskNames() {
        return tasks().stream().map(t -> t.name().toLowerCase(Locale.ROOT)).toList();
    }

    private SoakInputs.ImageFormat imageFormat() {
        try {
            return SoakInputs.ImageFormat.valueOf(imageFormat.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw usage("--image-format must be jpeg or png, got " + imageFormat);
        }
    }

    /** The broker {@code --broker} and {@code --broker-niceness} ask for, not started yet. */
    private EmbeddedKafka broker() {
        String placement = broker.trim().toLowerCase(Locale.ROOT);
        if (placement.equals("in-process")) {
            if (brokerNiceness != 0) {
                throw usage("--broker-niceness needs --broker process (the job's own threads keep their priority)");
            }
            return new EmbeddedKafka();
        }
        if (!placement.equals("process")) {
            throw usage("--broker must be process or in-process, got " + broker);
        }
        if (brokerNiceness < 0 || brokerNiceness > 19) {
            throw usage("--broker-niceness must be in 0..19, got " + brokerNiceness);
        }
        String opts = System.getenv("LOUPE_BROKER_JAVA_OPTS");
        return EmbeddedKafka.inOwnProcess(brokerNiceness, opts == null ? EmbeddedKafka.DEFAULT_PROCESS_JVM_OPTIONS
                : opts.isBlank() ? List.of() : List.of(opts.trim().split("\\s+")));
    }

    private static String brokerPlacement(EmbeddedRuntime embedded) {
        return embedded.kafka().pid().stream().mapToObj(pid -> "in its own process " + pid).findFirst()
                .orElse("in this process");
    }

    private Scheduling scheduling() {
        try {
            return Scheduling.parse(scheduling);
        } catch (IllegalArgumentException e) {
            throw usage("--scheduling must be static or continuous, got " + scheduling);
        }
    }

    private TransactionNamingStrategy transactionNaming() {
        try {
            return TransactionNamingStrategy.valueOf(transactionNaming.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw usage("--transaction-naming must be incrementing or pooling, got " + transactionNaming);
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
