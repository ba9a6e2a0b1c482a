package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.jobs.DemoModel;
import dev.loupe.jobs.ModelOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.caption.CaptionJob;
import dev.loupe.jobs.caption.CaptionOptions;
import dev.loupe.jobs.caption.CaptionSettings;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe caption}: captions (or asks about, or ranks candidates for) every image of folders, globs and tar/zip
 * archives as a bounded Flink job on a local MiniCluster, with a progress line, and writes {@code results.jsonl},
 * {@code results.parquet} and an HTML contact sheet to the output folder. Every flag maps onto a typed option
 * ({@link CaptionOptions}, {@link LoupeOptions}, {@link JobOptions}); {@code -D} sets any other.
 */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = "Caption every image of folders, globs and tar/zip archives (a bounded Flink job); writes "
                + "OUT_DIR/results.jsonl, results.parquet and index.html. Re-running the same command resumes an "
                + "interrupted run. Exit status: 0 every image captioned, 1 some images failed (their rows say why), "
                + "2 bad options, 3 the job did not finish (run it again to resume).")
public final class CaptionCommand implements Callable<Integer>, ConfiguredCommand {

    /** Every option {@code loupe caption} and {@link CaptionJob} read. */
    public static final OptionCatalogue CATALOGUE = OptionCatalogue.of(CaptionOptions.class, LoupeOptions.class)
            .withOptions(JobOptions.class, JobOptions.PARALLELISM, JobOptions.CHECKPOINT_INTERVAL,
                    JobOptions.RESTART_ATTEMPTS, JobOptions.RESTART_DELAY)
            .with(ModelOptions.class);

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model package or Hugging Face checkpoint directory (default: a tiny random-weight demo "
                    + "model the project generates; its text is meaningless).")
    Path model;

    @Option(names = "--input", paramLabel = "PATH", required = true,
            description = "Folder (recursive), glob pattern ('photos/**/*.jpg'), tar / tar.gz / zip archive, manifest "
                    + "(.csv, .jsonl, .parquet with an image column) or image file (repeatable).")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--output", paramLabel = "OUT_DIR", required = true, description = "Output folder.")
    Path output;

    @Option(names = "--image-column", paramLabel = "NAME",
            description = "Image column of manifest inputs (.csv, .jsonl, .parquet): paths relative to the manifest, "
                    + "URIs or image bytes (default: image).")
    String imageColumn;

    @Option(names = "--prompt", description = "Prompt for every image, used verbatim.")
    String prompt;

    @Option(names = "--question", description = "Question for every image (task vqa).")
    String question;

    @Option(names = "--task", description = "caption, vqa or rank (default: vqa with --question, else caption).")
    String task;

    @Option(names = "--candidates", description = "JSON array of candidate answers to score (task rank).")
    String candidates;

    @Option(names = "--num-beams", description = "Beam width (default: the model's).")
    Integer numBeams;

    @Option(names = "--max-new-tokens", description = "Most tokens generated (default: the model's for the task).")
    Integer maxNewTokens;

    @Option(names = "--min-new-tokens", description = "Fewest tokens generated before end-of-sequence.")
    Integer minNewTokens;

    @Option(names = "--length-penalty", description = "Beam score = sum of log-probs / length ** this.")
    Double lengthPenalty;

    @Option(names = "--early-stopping", description = "Beam search stop rule: true, false or never.")
    String earlyStopping;

    @Option(names = "--repetition-penalty", description = "Penalty on ids already in the prompt or output.")
    Double repetitionPenalty;

    @Option(names = "--do-sample", description = "Sample instead of taking the most likely tokens.")
    Boolean doSample;

    @Option(names = "--temperature", description = "Sampling temperature.")
    Double temperature;

    @Option(names = "--top-k", description = "Sample among the k most likely tokens.")
    Integer topK;

    @Option(names = "--top-p", description = "Nucleus sampling probability mass.")
    Double topP;

    @Option(names = "--seed", description = "Seed of each image's sampling stream.")
    Long seed;

    @Option(names = "--batch-size", paramLabel = "N", description = "Largest inference batch (default 8).")
    Integer batchSize;

    @Option(names = "--batch-delay", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Longest wait to fill a batch, e.g. 50ms.")
    Duration batchDelay;

    @Option(names = "--parallelism", paramLabel = "N", description = "Parallel readers and model instances (default 1).")
    Integer parallelism;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How often progress is checkpointed, i.e. how much an interrupted run redoes (default 10s).")
    Duration checkpointInterval;

    @Option(names = "--restart-attempts", paramLabel = "N",
            description = "Restarts from the last checkpoint before the run fails (default 3).")
    Integer restartAttempts;

    @CommandLine.Mixin
    ConfigurationOptions configuration = new ConfigurationOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Parses {@code loupe caption}'s arguments without running (used by {@link CaptionJob#main}). */
    public static CaptionCommand parse(String... args) {
        CaptionCommand command = new CaptionCommand();
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Override
    public OptionCatalogue catalogue() {
        return CATALOGUE;
    }

    /** The options: defaults, {@code --config}, {@code -D}, then the flags given (which win). */
    public Configuration toConfiguration() {
        return toConfiguration(Map.of());
    }

    /** As {@link #toConfiguration()} over a cluster's configuration {@code base}, which everything else overrides. */
    public Configuration toConfiguration(Map<String, String> base) {
        Configuration conf = configuration.load(CATALOGUE, base);
        if (model == null) {
            model = ModelOptions.model(conf).orElse(null);
        }
        setIf(conf, ModelOptions.MODEL, model == null ? null : model.toString());
        conf.set(CaptionOptions.INPUTS, inputs);
        conf.set(CaptionOptions.OUTPUT, output.toString());
        setIf(conf, CaptionOptions.IMAGE_COLUMN, imageColumn);
        setIf(conf, CaptionOptions.TASK, task);
        setIf(conf, CaptionOptions.PROMPT, prompt);
        setIf(conf, CaptionOptions.QUESTION, question);
        if (candidates != null) {
            conf.set(CaptionOptions.CANDIDATES, parseCandidates(candidates));
        }
        setIf(conf, CaptionOptions.NUM_BEAMS, numBeams);
        setIf(conf, CaptionOptions.MAX_NEW_TOKENS, maxNewTokens);
        setIf(conf, CaptionOptions.MIN_NEW_TOKENS, minNewTokens);
        setIf(conf, CaptionOptions.LENGTH_PENALTY, lengthPenalty);
        setIf(conf, CaptionOptions.EARLY_STOPPING, earlyStopping);
        setIf(conf, CaptionOptions.REPETITION_PENALTY, repetitionPenalty);
        setIf(conf, CaptionOptions.DO_SAMPLE, doSample);
        setIf(conf, CaptionOptions.TEMPERATURE, temperature);
        setIf(conf, CaptionOptions.TOP_K, topK);
        setIf(conf, CaptionOptions.TOP_P, topP);
        setIf(conf, CaptionOptions.SEED, seed);
        setIf(conf, LoupeOptions.BATCH_MAX_SIZE, batchSize);
        setIf(conf, LoupeOptions.BATCH_MAX_DELAY, batchDelay);
        setIf(conf, JobOptions.PARALLELISM, parallelism);
        setIf(conf, JobOptions.CHECKPOINT_INTERVAL, checkpointInterval);
        setIf(conf, JobOptions.RESTART_ATTEMPTS, restartAttempts);
        return conf;
    }

    /** The --model directory, or the demo model (saying so on {@code err}). */
    public Path modelOrDemo(PrintStream err) {
        if (model != null) {
            return model;
        }
        try {
            Path demo = DemoModel.ensure(RuntimeOptions.defaults().cachePath());
            err.println("loupe caption: no --model given: using a tiny random-weight demo model (" + demo
                    + "); its text is meaningless. Pass --model DIR for a real checkpoint or package.");
            err.flush();
            return demo;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the demo model: " + e.getMessage(), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        Configuration config;
        AnnotatorFactory factory;
        try {
            config = toConfiguration();
            CaptionSettings settings = CaptionSettings.from(config);
            factory = ModelRuntimes.resolve(modelOrDemo(err), config);
            CaptionJob.Result result = CaptionJob.run(config, factory, CaptionJob.runnerFor(settings),
                    BoundedJobRunner::localEnvironment);
            result.print(System.out);
            return result.exitStatus();
        } catch (IllegalArgumentException e) {
            err.println("loupe caption: " + e.getMessage());
            err.flush();
            return 2;
        }
    }

    private static List<String> parseCandidates(String json) {
        try {
            JsonNode array = JSON.readTree(json);
            if (!array.isArray() || array.isEmpty()) {
                throw new IllegalArgumentException("--candidates must be a non-empty JSON array of strings");
            }
            List<String> list = new ArrayList<>();
            for (JsonNode n : array) {
                if (!n.isTextual()) {
                    throw new IllegalArgumentException("--candidates: every element must be a string, got " + n);
                }
                list.add(n.asText());
            }
            return list;
        } catch (IOException e) {
            throw new IllegalArgumentException("--candidates is not JSON: " + e.getMessage());
        }
    }

    private static <T> void setIf(Configuration conf, ConfigOption<T> option, T value) {
        if (value != null) {
            conf.set(option, value);
        }
    }
}
