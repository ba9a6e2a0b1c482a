package dev.loupe.jobs.enrich;

import dev.loupe.flink.AnnotationPipeline;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.ObjectReuse;
import dev.loupe.jobs.bounded.ActiveSpan;
import dev.loupe.jobs.bounded.BoundedBatching;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.bounded.OutcomeCounter;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.TextLineInputFormat;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.util.Collector;

/**
 * Bounded dataset enrichment ({@code loupe enrich}): reads a table, annotates each row's image (caption, answers,
 * rankings; {@link AddedColumn}) through the {@link AnnotationPipeline}, and writes the table back with the added
 * columns. Resumable: the job appends its annotations to a {@link Journal} committed at each checkpoint; a run first
 * reads the journal and submits only the (image, column) pairs it does not hold for the same model and prompt, and
 * assembles the output from the journal when the job has finished ({@link OutputAssembler}). WebDataset shards go
 * the same way, a sample for a row: planned from the shards' member names ({@link ShardPlanner}), each image read in
 * place by the job ({@link ShardRequests}), and the shards copied with a member added per sample
 * ({@link ShardAssembler}). An interrupted run leaves the output alone; running the same command again carries on.
 */
public final class EnrichJob {

    public static final String JOB_NAME = "loupe-enrich";

    private EnrichJob() {}

    /** What a run did. */
    public record Report(EnrichSettings settings, long rows, long requests, long reused, long rowsWithErrors,
            JobSummary summary) {
        /** Whether the output was written (the job finished, or there was nothing left to annotate). */
        public boolean complete() {
            return summary == null || summary.finished();
        }
    }

    /**
     * Cluster entry point ({@code flink run -c dev.loupe.jobs.enrich.EnrichJob}): the cluster's configuration
     * (config.yaml, {@code flink run -D}) overridden by its {@link EnrichArguments} (the same as {@code loupe enrich}'s).
     */
    public static void main(String[] args) throws Exception {
        Configuration config = EnrichArguments.ARGUMENTS.parse(
                StreamExecutionEnvironment.getExecutionEnvironment().getConfiguration().toMap(), args);
        EnrichSettings settings = EnrichSettings.from(config);
        AnnotatorFactory factory = ModelRuntimes.resolve(settings.model(), config);
        Report report = run(config, factory, BoundedJobRunner.forConsole("annotations"), System.out,
                StreamExecutionEnvironment.getExecutionEnvironment(environmentConfiguration(config)));
        if (!report.complete()) {
            throw new IllegalStateException("the enrichment did not finish; run it again to resume");
        }
    }

    /**
     * Runs the enrichment described by {@code config} ({@link EnrichOptions}, {@link JobOptions} checkpointing and
     * restarts, {@link LoupeOptions}) on a local MiniCluster, reporting progress through {@code runner} and the
     * plan and summary on {@code out}.
     */
    public static Report run(Configuration config, AnnotatorFactory factory, BoundedJobRunner runner, PrintStream out)
            throws Exception {
        return run(config, factory, runner, out, runner.localEnvironmentFor(environmentConfiguration(config)));
    }

    static Report run(Configuration config, AnnotatorFactory factory, BoundedJobRunner runner, PrintStream out,
            StreamExecutionEnvironment env) throws Exception {
        EnrichSettings settings = EnrichSettings.from(config);
        String model = ModelFingerprint.of(settings.model());
        Journal journal = Journal.read(settings.journal(), model);
        boolean newJournal = !Files.exists(settings.journal());
        Files.createDirectories(Journal.work(settings.journal()));
        String runId = UUID.randomUUID().toString().substring(0, 8);
        Path work = Journal.work(settings.journal()).resolve("pending-" + runId + ".txt");
        Plan plan;
        try {
            plan = plan(settings, journal, work, config.get(LoupeOptions.FETCH_MAX_BYTES).getBytes());
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(work);
            if (newJournal) {   // leave no empty journal behind a refused run
                Files.deleteIfExists(Journal.work(settings.journal()));
                Files.deleteIfExists(settings.journal());
            }
            throw e;
        }
        out.println("loupe enrich: " + plan.rows + " rows, " + plan.requests + " annotations to compute, "
                + plan.reused + " already in the journal " + settings.journal());
        out.flush();
        JobSummary summary = null;
        try {
            if (plan.requests > 0) {
                Configuration pipelineConfig = pipelineConfiguration(config, settings);
                build(env, settings, factory, pipelineConfig, model, work, runId);
                summary = runner.run(env, JOB_NAME, plan.requests);
                summary.print(out, "annotations", Map.of("journal", settings.journal().toString()));
                if (!summary.finished()) {
                    return new Report(settings, plan.rows, plan.requests, plan.reused, -1, summary);
                }
                journal = Journal.read(settings.journal(), model);
            }
        } finally {
            Files.deleteIfExists(work);
        }
        long writeStart = System.nanoTime();
        OutputAssembler.Counts counts = settings.webdataset()
                ? ShardAssembler.write(settings, journal, config.get(LoupeOptions.FETCH_MAX_BYTES).getBytes())
                : OutputAssembler.write(settings, journal);
        Journal.compact(settings.journal(), runId);
        out.println("loupe enrich: wrote " + counts.rows() + " rows to " + settings.output() + " ("
                + counts.rowsWithErrors() + " with errors, column " + settings.errorColumn() + ") in "
                + String.format(java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - writeStart) / 1e9));
        out.flush();
        return new Report(settings, counts.rows(), plan.requests, plan.reused, counts.rowsWithErrors(), summary);
    }

    /**
     * Checkpointing (which commits the journal), bounded restarts, parallelism and object reuse between chained
     * operators ({@link ObjectReuse}, unless {@code loupe.object-reuse} is false) for the job.
     */
    public static Configuration environmentConfiguration(Configuration config) {
        Configuration conf = new Configuration(config);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, config.get(JobOptions.CHECKPOINT_INTERVAL));
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, config.get(JobOptions.RESTART_ATTEMPTS));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, config.get(JobOptions.RESTART_DELAY));
        conf.set(CoreOptions.DEFAULT_PARALLELISM, config.get(JobOptions.PARALLELISM));
        return ObjectReuse.set(conf, config.get(JobOptions.OBJECT_REUSE));
    }

    /** The pipeline's options with the table's folder added to the folders file: images may come from. */
    static Configuration pipelineConfiguration(Configuration config, EnrichSettings settings) {
        Configuration pipeline = new Configuration(config);
        List<String> roots = new ArrayList<>(config.get(LoupeOptions.FETCH_FILE_ROOTS));
        roots.add(settings.input().getParent().toString());
        pipeline.set(LoupeOptions.FETCH_FILE_ROOTS, roots);
        return pipeline;
    }

    /**
     * The rows read and the requests still to compute (written to the work file, one image a line: a
     * {@link PendingImage} for a table, a {@link ShardImageLine} for shards).
     */
    private record Plan(long rows, long requests, long reused) {}

    private static Plan plan(EnrichSettings settings, Journal journal, Path work, long maxBytes) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(work, StandardCharsets.UTF_8)) {
            PendingRequests pending = new PendingRequests(journal, settings.columns());
            long rows = settings.webdataset() ? ShardPlanner.plan(settings, pending, out, maxBytes)
                    : planTable(settings, pending, out);
            return new Plan(rows, pending.requests(), pending.reused());
        }
    }

    /** Plans the rows of a table into {@code work}, one {@link PendingImage} a line; returns their number. */
    private static long planTable(EnrichSettings settings, PendingRequests pending, Writer work) throws IOException {
        long rows = 0;
        Path folder = settings.input().getParent();
        try (TableReader in = Tables.open(settings.input(), settings.inputFormat())) {
            int image;
            try {
                image = in.schema().indexOf(settings.imageColumn());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--image-column: " + e.getMessage(), e);
            }
            OutputAssembler.outputSchema(in.schema(), settings);   // checks the added names against the input's
            for (TableRow row; (row = in.read()) != null; ) {
                rows++;
                ImageReferences.RowImage rowImage;
                try {
                    rowImage = ImageReferences.resolve(row.get(image), folder);
                } catch (IllegalArgumentException e) {
                    continue;   // reported in the row's error column
                }
                List<String> columns = pending.columns(rowImage.key());
                if (!columns.isEmpty()) {
                    work.write(new PendingImage(columns, rowImage.key(), rowImage.image().bytes()).line());
                    work.write('\n');
                }
            }
        }
        return rows;
    }

    /**
     * Adds the job to {@code env}: the work file's pending images → requests → {@link AnnotationPipeline} → outcome
     * counters → journal records → the journal's {@code FileSink} (parts rolled and committed at each checkpoint).
     */
    static void build(StreamExecutionEnvironment env, EnrichSettings settings, AnnotatorFactory factory,
            Configuration pipelineConfig, String model, Path work, String runId) {
        Map<String, AddedColumn> columns = new LinkedHashMap<>();
        Map<String, String> prompts = new LinkedHashMap<>();
        for (AddedColumn column : settings.columns()) {
            columns.put(column.name(), column);
            prompts.put(column.name(), column.promptHash());
        }
        FileSource<String> source = FileSource.forRecordStreamFormat(new TextLineInputFormat(),
                new org.apache.flink.core.fs.Path(work.toUri())).build();
        DataStream<String> lines = ActiveSpan.markReads(env.fromSource(source, WatermarkStrategy.noWatermarks(),
                "pending-annotations").uid("enrich-pending"), "enrich-first-read");
        SingleOutputStreamOperator<AnnotationRequest> requests = settings.webdataset()
                ? lines.process(new ShardRequests(columns), AnnotationPipeline.REQUEST_TYPE)
                        .name("read-shard-images").uid("enrich-shard-requests")
                : lines.flatMap(new ToRequests(columns), AnnotationPipeline.REQUEST_TYPE)
                        .name("to-requests").uid("enrich-requests");
        AnnotationPipeline.Outputs outputs =
                AnnotationPipeline.fromRequests(requests, factory,
                        BoundedBatching.apply(PipelineOptions.from(pipelineConfig).toBuilder(), pipelineConfig).build());
        DataStream<AnnotationFailure> failures = settings.webdataset()
                ? outputs.failures().union(requests.getSideOutput(ShardRequests.FAILURES)) : outputs.failures();
        TypeInformation<JournalRecord> rowType = TypeInformation.of(JournalRecord.class);
        DataStream<JournalRecord> records = OutcomeCounter.results(outputs.results())
                .flatMap(JournalRecords.results(model, prompts), rowType).name("journal-results").uid("enrich-results")
                .union(OutcomeCounter.failures(failures)
                        .flatMap(JournalRecords.failures(model, prompts), rowType).name("journal-failures")
                        .uid("enrich-failures"));
        records.sinkTo(FileSink.forRowFormat(new org.apache.flink.core.fs.Path(Journal.parts(settings.journal()).toUri()),
                                new JournalRecord.LineEncoder())
                        .withBucketAssigner(new BasePathBucketAssigner<>())
                        .withRollingPolicy(OnCheckpointRollingPolicy.build())
                        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("journal-" + runId)
                                .withPartSuffix(".jsonl").build())
                        .build())
                .name("journal").uid("enrich-journal");
    }

    /** A work-file line ({@link PendingImage}) as the requests for its columns. */
    private record ToRequests(Map<String, AddedColumn> columns) implements FlatMapFunction<String, AnnotationRequest> {
        @Override
        public void flatMap(String line, Collector<AnnotationRequest> out) {
            PendingImage image = PendingImage.parse(line);
            for (String column : image.columns()) {
                out.collect(columns.get(column).request(image.key(), image.bytes()));
            }
        }
    }
}
