package dev.loupe.cli;

import dev.loupe.config.JobArguments;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.embedded.EmbeddedRuntime;
import dev.loupe.config.ModelOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.jobs.streaming.RegistrySettings;
import dev.loupe.jobs.DemoModel;
import dev.loupe.jobs.StopOnExit;
import dev.loupe.jobs.demo.DemoFeed;
import dev.loupe.jobs.demo.DemoImages;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.streaming.StreamingAnnotationJob;
import dev.loupe.jobs.streaming.StreamingArguments;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
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

    @Option(names = "--demo-images", paramLabel = "DIR", arity = "0..1", fallbackValue = "",
            description = "Send one request per image in DIR (caption, and a VQA question for every second image; "
                    + "DIR becomes an allowed root) and print the results and dead letters as they arrive. Without "
                    + "DIR: a few sample images the project generates under the cache (loupe.runtime.cache-dir)"
                    + "/demo/images; a missing DIR is created with them.")
    String demoImages;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Every option {@code loupe run} and the streaming job read. */
    public static final OptionCatalogue CATALOGUE = StreamingArguments.CATALOGUE;

    /** Stands in for the embedded broker's address while checking options, before the broker starts. */
    private static final String UNKNOWN_YET = "127.0.0.1:9092";

    /** Parses {@code loupe run}'s arguments without running. */
    public static RunCommand parse(String... args) {
        return ConfiguredCommand.parse(new RunCommand(), args);
    }

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public JobArguments arguments() {
        return StreamingArguments.ARGUMENTS;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Configuration conf;
        AnnotatorFactory factory;
        List<DemoImages.Image> demo = List.of();
        boolean embedded;
        JobSettings settings;
        try {
            conf = toConfiguration();
            RegistrySettings.from(conf);
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
            settings = JobSettings.from(checked);
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
        return embedded ? runEmbedded(conf, settings, factory, demo) : runAgainst(conf, settings, factory, demo);
    }

    private int runAgainst(Configuration conf, JobSettings settings, AnnotatorFactory factory,
            List<DemoImages.Image> demo) throws Exception {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(StreamingAnnotationJob.environmentConfiguration(settings));
        StreamingAnnotationJob.build(env, settings, factory, conf);
        JobClient job = env.executeAsync(StreamingAnnotationJob.JOB_NAME);
        try (DemoFeed feed = demo.isEmpty() ? null : DemoFeed.start(settings, RegistrySettings.valueFormat(conf), demo, System.out)) {
            return awaitEnd(job);
        }
    }

    private int runEmbedded(Configuration conf, JobSettings checked, AnnotatorFactory factory,
            List<DemoImages.Image> demo) throws Exception {
        List<String> topics = checked.allTopics();
        EmbeddedRuntime runtime = EmbeddedRuntime.start(topics);
        StopOnExit onExit = StopOnExit.register("loupe-shutdown", () -> {
            System.out.println("loupe run: stopping ...");
            runtime.close();
        });
        DemoFeed feed = null;
        try {
            conf.set(JobOptions.BOOTSTRAP_SERVERS, runtime.bootstrapServers());
            JobSettings settings = checked.withBootstrapServers(runtime.bootstrapServers());
            StreamExecutionEnvironment env = runtime.environment(StreamingAnnotationJob.environmentConfiguration(settings));
            StreamingAnnotationJob.build(env, settings, factory, conf);
            JobClient job = runtime.submit(env, StreamingAnnotationJob.JOB_NAME);
            System.out.println("loupe run: streaming job " + job.getJobID() + " is running");
            System.out.println(runtime.describe(topics));
            System.out.println("Press Ctrl-C to stop.");
            System.out.flush();
            if (!demo.isEmpty()) {
                feed = DemoFeed.start(settings, RegistrySettings.valueFormat(conf), demo, System.out);
            }
            return awaitEnd(job);
        } finally {
            if (feed != null) {
                feed.close();
            }
            onExit.close();
            if (!onExit.stoppedOnExit()) {
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
