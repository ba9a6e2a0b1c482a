package dev.loupe.cli;

import dev.loupe.config.JobArguments;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.enrich.EnrichArguments;
import dev.loupe.jobs.enrich.EnrichJob;
import dev.loupe.jobs.enrich.EnrichSettings;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code loupe enrich}: adds model annotations (caption, answers, best candidate label) as columns to a Parquet,
 * CSV or JSONL table, or as a member per sample to WebDataset shards, resumably ({@link EnrichJob}). Each flag is a view of one typed option
 * ({@link EnrichArguments}); {@code -D} sets any other.
 */
@Command(name = "enrich", mixinStandardHelpOptions = true,
        description = "Add annotation columns (caption, answers to questions, best candidate label) to a Parquet, "
                + "CSV or JSONL table whose rows reference images, or to each sample of WebDataset shards (a "
                + "KEY.loupe.json member added, every other member kept). Resumable: running the same command again after "
                + "an interruption computes only what is missing. Exit status: 0 every row annotated, 1 some rows "
                + "could not be (the output is written; their error column says why), 2 bad options, 3 the job did "
                + "not finish (the output is not written; run the command again to resume).")
public final class EnrichCommand implements Callable<Integer>, ConfiguredCommand {

    /** Every option {@code loupe enrich} and {@link EnrichJob} read. */
    public static final OptionCatalogue CATALOGUE = EnrichArguments.CATALOGUE;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Parses {@code loupe enrich}'s arguments without running. */
    public static EnrichCommand parse(String... args) {
        return ConfiguredCommand.parse(new EnrichCommand(), args);
    }

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public JobArguments arguments() {
        return EnrichArguments.ARGUMENTS;
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
