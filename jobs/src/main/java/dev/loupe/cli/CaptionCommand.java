package dev.loupe.cli;

import dev.loupe.config.JobArguments;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.caption.CaptionArguments;
import dev.loupe.jobs.caption.CaptionJob;
import dev.loupe.jobs.caption.CaptionSettings;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code loupe caption}: captions (or asks about, or ranks candidates for) every image of folders, globs and tar/zip
 * archives as a bounded Flink job on a local MiniCluster, with a progress line, and writes {@code results.jsonl},
 * {@code results.parquet} and an HTML contact sheet to the output folder. Every flag is a view of a typed
 * option ({@link CaptionArguments}); {@code -D} sets any other.
 */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = "Caption every image of folders, globs, tar/zip archives and WebDataset shards (one row per "
                + "sample) as a bounded Flink job; writes "
                + "OUT_DIR/results.jsonl, results.parquet and index.html. Re-running the same command resumes an "
                + "interrupted run. Exit status: 0 every image captioned, 1 some images failed (their rows say why), "
                + "2 bad options, 3 the job did not finish (run it again to resume).")
public final class CaptionCommand implements Callable<Integer>, ConfiguredCommand {

    /** Every option {@code loupe caption} and {@link CaptionJob} read. */
    public static final OptionCatalogue CATALOGUE = CaptionArguments.CATALOGUE;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Parses {@code loupe caption}'s arguments without running. */
    public static CaptionCommand parse(String... args) {
        return ConfiguredCommand.parse(new CaptionCommand(), args);
    }

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public JobArguments arguments() {
        return CaptionArguments.ARGUMENTS;
    }

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        Configuration config;
        AnnotatorFactory factory;
        try {
            config = toConfiguration();
            CaptionSettings settings = CaptionSettings.from(config);
            factory = ModelRuntimes.resolve(CaptionArguments.modelOrDemo(config, err), config);
            BoundedJobRunner runner = CaptionJob.runnerFor(settings);
            CaptionJob.Result result = CaptionJob.run(config, factory, runner, runner::localEnvironmentFor);
            result.print(System.out);
            return result.exitStatus();
        } catch (IllegalArgumentException e) {
            err.println("loupe caption: " + e.getMessage());
            err.flush();
            return 2;
        }
    }
}
