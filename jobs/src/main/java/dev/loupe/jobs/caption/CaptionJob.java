package dev.loupe.jobs.caption;

import dev.loupe.model.files.FileTrees;
import dev.loupe.flink.AnnotationPipeline;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.jobs.ObjectReuse;
import dev.loupe.jobs.bounded.ActiveSpan;
import dev.loupe.jobs.bounded.BoundedBatching;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.bounded.OutcomeCounter;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;

/**
 * {@code loupe caption}: captions every image of folders, globs and tar/zip archives as one bounded Flink job,
 * {@link CaptionSource} → {@link AnnotationPipeline} → JSONL part files written exactly once by a {@link FileSink},
 * then {@link CaptionOutputs} turns the parts into {@code results.jsonl}, {@code results.parquet} and the contact sheet.
 * Checkpoints are retained under the output folder, so running the same command again after a crash or Ctrl-C
 * resumes from the latest one and every image still gets exactly one row. Cluster entry point:
 * {@code flink run -c dev.loupe.jobs.caption.CaptionJob loupe-jobs.jar --input ... --output ...} (the output folder
 * must then be on a file system the client and the task managers share).
 */
public final class CaptionJob {

    /** Name of the job in the Flink UI and in the summary. */
    public static final String JOB_NAME = "loupe-caption";

    private CaptionJob() {}

    /**
     * Cluster entry point: the cluster's configuration (config.yaml, {@code flink run -D}) overridden by
     * its {@link CaptionArguments} (the same as {@code loupe caption}'s), run on the context environment.
     */
    public static void main(String[] args) throws Exception {
        Configuration config = CaptionArguments.ARGUMENTS.parse(
                StreamExecutionEnvironment.getExecutionEnvironment().getConfiguration().toMap(), args);
        AnnotatorFactory factory = dev.loupe.jobs.ModelRuntimes.resolve(CaptionArguments.modelOrDemo(config, System.err), config);
        Result result = run(config, factory, CaptionJob.runnerFor(CaptionSettings.from(config)),
                StreamExecutionEnvironment::getExecutionEnvironment);
        result.print(System.out);
        if (result.exitStatus() != 0) {
            System.exit(result.exitStatus());
        }
    }

    /**
     * What a run did: the job's summary and, when it finished, where its outputs are and how long writing them took
     * (the last stage, after the job: results files and contact sheet).
     */
    public record Result(JobSummary summary, OutputLayout layout, boolean resumed, Duration writing) {
        /** 0: every image captioned; 1: finished, some images failed; 3: the job did not finish. */
        public int exitStatus() {
            if (!summary.finished()) {
                return 3;
            }
            return summary.progress().failed() == 0 ? 0 : 1;
        }

        /** The summary with the output locations (or how to resume). */
        public void print(java.io.PrintStream out) {
            Map<String, String> outputs = new LinkedHashMap<>();
            if (summary.finished()) {
                outputs.put("results", layout.resultsJsonl() + ", " + layout.resultsParquet());
                outputs.put("contact sheet", layout.index().toUri().toString());
            } else {
                outputs.put("checkpoints", layout.checkpoints() + " (run the same command again to resume)");
            }
            List<String> lines = new ArrayList<>(summary.lines("images", outputs));
            if (summary.finished()) {
                int stages = lines.size() - outputs.size();   // the outputs are the last lines
                lines.add(stages, String.format(Locale.ROOT, "  writing outputs: %.1f s (results files, contact sheet)",
                        writing.toMillis() / 1000.0));
            }
            lines.forEach(out::println);
            out.flush();
        }
    }

    /** The console runner, or one reporting at the configured interval. */
    public static BoundedJobRunner runnerFor(CaptionSettings settings) {
        if (settings.progressInterval() == null) {
            return BoundedJobRunner.forConsole("images");
        }
        return new BoundedJobRunner(System.out, System.console() != null, settings.progressInterval(), "images");
    }

    /**
     * Plans the inputs, runs the job (resuming from the output folder's latest checkpoint when there is one) with
     * {@code runner} on the environment {@code environments} makes from the job's Flink configuration, and when it
     * finishes writes the contract outputs and removes the working state.
     */
    public static Result run(Configuration config, AnnotatorFactory factory, BoundedJobRunner runner,
            Function<Configuration, StreamExecutionEnvironment> environments) throws Exception {
        return run(config, factory, runner, environments, client -> {});
    }

    /** As {@link #run(Configuration, AnnotatorFactory, BoundedJobRunner, Function)}, handing over the job's client. */
    public static Result run(Configuration config, AnnotatorFactory factory, BoundedJobRunner runner,
            Function<Configuration, StreamExecutionEnvironment> environments, Consumer<JobClient> onSubmitted)
            throws Exception {
        CaptionSettings settings = CaptionSettings.from(config);
        PipelineOptions pipeline = PipelineOptions.from(config);
        settings.template().validate(pipeline, factory.taskDefaults());
        OutputLayout layout = new OutputLayout(settings.output());
        InputPlan plan = InputPlan.of(settings.inputs(), settings.filesPerSplit(), pipeline.fetchMaxBytes(),
                settings.imageColumn(), settings.inputFormat());
        Optional<java.nio.file.Path> checkpoint = prepare(layout, fingerprint(settings));

        Configuration envConfig = environmentConfiguration(settings, layout);
        checkpoint.ifPresent(chk -> envConfig.set(StateRecoveryOptions.SAVEPOINT_PATH, chk.toUri().toString()));
        StreamExecutionEnvironment env = environments.apply(envConfig);
        build(env, plan, settings.template(), factory, BoundedBatching.apply(pipeline.toBuilder(), config)
                .fileRoots(plan.fileRoots()).thumbnailSize(settings.thumbnailSize()).build(), layout);
        JobSummary summary = runner.run(env, JOB_NAME, plan.total(), onSubmitted);
        Duration writing = Duration.ZERO;
        if (summary.finished()) {
            long start = System.nanoTime();
            new CaptionOutputs(layout, settings).write();
            FileTrees.deleteRecursively(layout.work());
            writing = Duration.ofNanos(System.nanoTime() - start);
        }
        return new Result(summary, layout, checkpoint.isPresent(), writing);
    }

    /**
     * Flink settings the job depends on: exactly-once checkpoints into the output folder, retained when the job is
     * cancelled or fails, bounded restarts, streaming mode (so a bounded run checkpoints), the parallelism, object
     * reuse between chained operators ({@link ObjectReuse}, unless {@code loupe.object-reuse} is false).
     */
    public static Configuration environmentConfiguration(CaptionSettings settings, OutputLayout layout) {
        Configuration conf = new Configuration();
        conf.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, settings.checkpointInterval());
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, layout.checkpoints().toUri().toString());
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 2);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, settings.restartAttempts());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, settings.restartDelay());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, settings.parallelism());
        return ObjectReuse.set(conf, settings.objectReuse());
    }

    /**
     * Adds the job to {@code env}: the inputs' source, the annotation pipeline, outcome counters for the progress
     * line, the exactly-once part-file sink, and the thumbnails' sink (thumbnails when {@code pipeline} asks for them).
     */
    public static void build(StreamExecutionEnvironment env, InputPlan plan, RequestTemplate template,
            AnnotatorFactory factory, PipelineOptions pipeline, OutputLayout layout) {
        DataStream<SourcedImage> sourced = ActiveSpan.markReads(env
                .fromSource(new CaptionSource(plan.splits(), template, pipeline.fetchMaxBytes()),
                        WatermarkStrategy.noWatermarks(), "caption-inputs", TypeInformation.of(SourcedImage.class))
                .uid("caption-inputs"), "caption-first-read");
        SingleOutputStreamOperator<AnnotationRequest> requests = sourced
                .process(new SourceFailureSplitter(), AnnotationPipeline.REQUEST_TYPE)
                .name("caption-read-failures").uid("caption-read-failures");
        AnnotationPipeline.Outputs outputs = AnnotationPipeline.fromRequests(requests, factory, pipeline);
        DataStream<AnnotationFailure> failures =
                outputs.failures().union(requests.getSideOutput(SourceFailureSplitter.FAILURES));
        TypeInformation<CaptionRow> rowType = TypeInformation.of(CaptionRow.class);
        DataStream<CaptionRow> rows = OutcomeCounter.results(outputs.results())
                .map(CaptionRow::of, rowType).name("result-rows").uid("caption-result-rows")
                .union(OutcomeCounter.failures(failures)
                        .map(CaptionRow::of, rowType).name("failure-rows").uid("caption-failure-rows"));
        rows.sinkTo(FileSink.forRowFormat(new Path(layout.parts().resolve("jsonl").toUri()), new CaptionRowEncoder())
                        .withBucketAssigner(new BasePathBucketAssigner<>())
                        .withRollingPolicy(OnCheckpointRollingPolicy.build())
                        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("rows").withPartSuffix(".jsonl").build())
                        .build())
                .name("caption-jsonl-parts").uid("caption-jsonl-parts");
        outputs.thumbnails().sinkTo(new ThumbnailSink(layout.thumbs())).name("caption-thumbnails").uid("caption-thumbnails");
    }

    /**
     * Gets the output folder ready: the latest checkpoint of an unfinished run of the same command (to resume), or
     * a fresh working folder. An unfinished run of a different command is refused rather than mixed in.
     */
    static Optional<java.nio.file.Path> prepare(OutputLayout layout, String fingerprint) throws IOException {
        Optional<java.nio.file.Path> checkpoint = layout.latestCheckpoint();
        if (checkpoint.isPresent()) {
            String previous = Files.exists(layout.fingerprint())
                    ? Files.readString(layout.fingerprint(), StandardCharsets.UTF_8) : "";
            if (!previous.equals(fingerprint)) {
                throw new IllegalArgumentException(layout.root() + " holds an unfinished run of a different command "
                        + "(inputs or task options differ); use another --output, or delete " + layout.work()
                        + " to start over");
            }
            return checkpoint;
        }
        FileTrees.deleteRecursively(layout.work());
        FileTrees.deleteRecursively(layout.thumbs());   // none left over from an earlier run into this folder
        Files.createDirectories(layout.work());
        Files.writeString(layout.fingerprint(), fingerprint, StandardCharsets.UTF_8);
        return Optional.empty();
    }

    static String fingerprint(CaptionSettings settings) {
        return "inputs=" + settings.inputs() + "\nimage-column=" + settings.imageColumn() + "\ntemplate=" + settings.template() + "\nfiles-per-split="
                + settings.filesPerSplit() + "\n" + "input-format=" + settings.inputFormat() + "\n";
    }
}
