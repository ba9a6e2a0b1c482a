package dev.loupe.cli;

import dev.loupe.config.OptionCatalogue;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.ModelOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.enrich.EnrichJob;
import dev.loupe.jobs.enrich.EnrichOptions;
import dev.loupe.jobs.enrich.EnrichSettings;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe enrich}: adds model annotations (caption, answers, best candidate label) as columns to a Parquet,
 * CSV or JSONL table, resumably ({@link EnrichJob}). Each flag maps onto one {@link EnrichOptions} (or job /
 * pipeline) option; {@code -D} sets any other.
 */
@Command(name = "enrich", mixinStandardHelpOptions = true,
        description = "Add annotation columns (caption, answers to questions, best candidate label) to a Parquet, "
                + "CSV or JSONL table whose rows reference images. Resumable: running the same command again after "
                + "an interruption computes only what is missing. Exit status: 0 every row annotated, 1 some rows "
                + "could not be (the output is written; their error column says why), 2 bad options, 3 the job did "
                + "not finish (the output is not written; run the command again to resume).")
public final class EnrichCommand implements Callable<Integer>, ConfiguredCommand {

    /** Every option {@code loupe enrich} and {@link EnrichJob} read. */
    public static final OptionCatalogue CATALOGUE = OptionCatalogue.of(EnrichOptions.class, LoupeOptions.class)
            .withOptions(JobOptions.class, JobOptions.PARALLELISM, JobOptions.CHECKPOINT_INTERVAL,
                    JobOptions.RESTART_ATTEMPTS, JobOptions.RESTART_DELAY)
            .withOptions(ModelOptions.class, ModelOptions.DEVICE, ModelOptions.THREADS, ModelOptions.CACHE_DIR);


    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model package or Hugging Face checkpoint directory.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "TABLE", description = "Table to enrich (.parquet, .csv, .jsonl).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "TABLE",
            description = "Enriched table to write: the input's rows in order plus the added columns.")
    Path output;

    @Option(names = "--image-column", required = true, paramLabel = "NAME",
            description = "Column with each row's image: a path (relative to the table's folder, or absolute) or a "
                    + "file:/http(s): URI.")
    String imageColumn;

    @Option(names = "--question", paramLabel = "[COLUMN=]TEXT",
            description = "A question to answer per row (repeatable), e.g. answer_color=\"What color is it?\"; "
                    + "without COLUMN= the column is answer_1, answer_2, ...")
    List<String> questions = new ArrayList<>();

    @Option(names = "--candidates", paramLabel = "COLUMN=A,B,...",
            description = "Rank candidate labels per row (repeatable): COLUMN gets the label the model scores highest.")
    Map<String, String> candidates = new LinkedHashMap<>();

    @Option(names = "--candidate-scores", description = "Also add COLUMN_scores (every label's log-probability, JSON).")
    boolean candidateScores;

    @Option(names = "--no-caption", description = "Do not add a caption column.")
    boolean noCaption;

    @Option(names = "--caption-column", paramLabel = "NAME", description = "Default: ${DEFAULT-VALUE}.")
    String captionColumn = EnrichOptions.CAPTION_COLUMN.defaultValue();

    @Option(names = "--error-column", paramLabel = "NAME", description = "Default: ${DEFAULT-VALUE}.")
    String errorColumn = EnrichOptions.ERROR_COLUMN.defaultValue();

    @Option(names = "--input-format", paramLabel = "csv|jsonl|parquet", description = "Default: from the extension.")
    String inputFormat;

    @Option(names = "--output-format", paramLabel = "csv|jsonl|parquet", description = "Default: from the extension.")
    String outputFormat;

    @Option(names = "--journal", paramLabel = "DIR",
            description = "Resume journal folder. Default: OUTPUT.loupe-journal next to the output.")
    Path journal;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "Longest caption or answer (default: the model's).")
    Integer maxNewTokens;

    @Option(names = "--num-beams", paramLabel = "N", description = "Beam width for captions and answers (default: the model's).")
    Integer numBeams;

    @Option(names = "--allowed-root", paramLabel = "DIR", arity = "1..*",
            description = "More folders images may be read from (repeatable); the table's folder always is.")
    List<Path> allowedRoots = new ArrayList<>();

    @Option(names = "--allowed-host", paramLabel = "HOST|IP|CIDR", arity = "1..*",
            description = "Internal hosts http(s) images may come from (repeatable); by default internal addresses "
                    + "are refused.")
    List<String> allowedHosts = new ArrayList<>();

    @Option(names = "--batch-size", paramLabel = "N", description = "Largest inference batch. Default: ${DEFAULT-VALUE}.")
    int batchSize = LoupeOptions.BATCH_MAX_SIZE.defaultValue();

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How often the journal is committed (what an interruption can lose). Default: 10s.")
    Duration checkpointInterval = JobOptions.CHECKPOINT_INTERVAL.defaultValue();

    @Option(names = "--parallelism", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int parallelism = JobOptions.PARALLELISM.defaultValue();

    @Option(names = "--restart-attempts", paramLabel = "N",
            description = "Restarts from the last checkpoint before the run fails. Default: ${DEFAULT-VALUE}.")
    int restartAttempts = JobOptions.RESTART_ATTEMPTS.defaultValue();

    @CommandLine.Mixin
    ConfigurationOptions configuration = new ConfigurationOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Parses {@code loupe enrich}'s arguments without running (used by {@link EnrichJob#main}). */
    public static EnrichCommand parse(String... args) {
        EnrichCommand command = new EnrichCommand();
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
        conf.set(EnrichOptions.MODEL, model.toString());
        conf.set(EnrichOptions.INPUT, input.toString());
        conf.set(EnrichOptions.OUTPUT, output.toString());
        conf.set(EnrichOptions.IMAGE_COLUMN, imageColumn);
        ConfigurationOptions.setFlag(spec, conf, "--no-caption", EnrichOptions.CAPTION, !noCaption);
        ConfigurationOptions.setFlag(spec, conf, "--caption-column", EnrichOptions.CAPTION_COLUMN, captionColumn);
        if (!questions.isEmpty()) {
            conf.set(EnrichOptions.QUESTIONS, questions);
        }
        if (!candidates.isEmpty()) {
            Map<String, String> rankings = new LinkedHashMap<>();
            candidates.forEach((column, labels) -> rankings.put(column, String.join("|", labels.split(","))));
            conf.set(EnrichOptions.CANDIDATES, rankings);
        }
        ConfigurationOptions.setFlag(spec, conf, "--candidate-scores", EnrichOptions.CANDIDATE_SCORES, candidateScores);
        ConfigurationOptions.setFlag(spec, conf, "--error-column", EnrichOptions.ERROR_COLUMN, errorColumn);
        if (inputFormat != null) {
            conf.set(EnrichOptions.INPUT_FORMAT, inputFormat);
        }
        if (outputFormat != null) {
            conf.set(EnrichOptions.OUTPUT_FORMAT, outputFormat);
        }
        if (journal != null) {
            conf.set(EnrichOptions.JOURNAL, journal.toString());
        }
        if (maxNewTokens != null) {
            conf.set(EnrichOptions.MAX_NEW_TOKENS, maxNewTokens);
        }
        if (numBeams != null) {
            conf.set(EnrichOptions.NUM_BEAMS, numBeams);
        }
        if (!allowedRoots.isEmpty()) {
            conf.set(LoupeOptions.FETCH_FILE_ROOTS,
                    allowedRoots.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList());
        }
        if (!allowedHosts.isEmpty()) {
            conf.set(LoupeOptions.FETCH_ALLOWED_HOSTS, allowedHosts);
        }
        ConfigurationOptions.setFlag(spec, conf, "--batch-size", LoupeOptions.BATCH_MAX_SIZE, batchSize);
        ConfigurationOptions.setFlag(spec, conf, "--checkpoint-interval", JobOptions.CHECKPOINT_INTERVAL, checkpointInterval);
        ConfigurationOptions.setFlag(spec, conf, "--parallelism", JobOptions.PARALLELISM, parallelism);
        ConfigurationOptions.setFlag(spec, conf, "--restart-attempts", JobOptions.RESTART_ATTEMPTS, restartAttempts);
        return conf;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Configuration config;
        AnnotatorFactory factory;
        try {
            config = toConfiguration();
            EnrichSettings settings = EnrichSettings.from(config);
            PipelineOptions.from(config);
            factory = ModelRuntimes.resolve(settings.model(), config);
        } catch (IllegalArgumentException e) {
            err.println("loupe enrich: " + e.getMessage());
            err.flush();
            return 2;
        }
        EnrichJob.Report report;
        try {
            report = EnrichJob.run(config, factory, BoundedJobRunner.forConsole("annotations"), System.out);
        } catch (IllegalArgumentException e) {
            err.println("loupe enrich: " + e.getMessage());
            err.flush();
            return 2;
        }
        if (!report.complete()) {
            err.println("loupe enrich: the job did not finish; the output was not written. Run the same command "
                    + "again to resume (annotations committed so far are kept in " + report.settings().journal() + ")");
            err.flush();
            return 3;
        }
        return report.rowsWithErrors() == 0 ? 0 : 1;
    }
}
