package dev.loupe.jobs.bounded;

import dev.loupe.embedded.JobStop;
import dev.loupe.jobs.StopOnExit;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.client.JobCancellationException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;

/**
 * Runs a bounded job to its end and shows how far it is: a live line (done/total, images/s over the last 30 s,
 * failures, ETA) rewritten in place with {@code \r} when stdout is a terminal, a plain line every
 * {@code interval} otherwise, then returns a {@link JobSummary}. The counts come from the job's
 * {@link OutcomeCounter} accumulators (read through {@link JobClient#getAccumulators()} while it runs, exact at the
 * end), so put an {@code OutcomeCounter} before the sinks. Works on the local MiniCluster
 * ({@link #localEnvironment}) and on a cluster ({@code flink run}, the context environment).
 *
 * <pre>{@code
 * StreamExecutionEnvironment env = BoundedJobRunner.localEnvironment(conf);
 * ... source -> AnnotationPipeline.fromRequests -> OutcomeCounter.results/failures -> sinks ...
 * JobSummary summary = BoundedJobRunner.forConsole("images").run(env, "loupe-caption", plannedTotal);
 * summary.print(System.out, "images", Map.of("results", "out/results.jsonl"));
 * }</pre>
 */
public final class BoundedJobRunner {
    private static final Duration RATE_WINDOW = Duration.ofSeconds(30);
    private static final Duration ACCUMULATOR_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration MIN_HEARTBEAT = Duration.ofSeconds(1);

    private final PrintStream out;
    private final boolean interactive;
    private final Duration interval;
    private final String unit;

    /**
     * @param out where progress goes
     * @param interactive rewrite one line with {@code \r} (a terminal) rather than print a line per report
     * @param interval time between reports
     * @param unit what the rows are, plural, e.g. {@code images}
     */
    public BoundedJobRunner(PrintStream out, boolean interactive, Duration interval, String unit) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("progress interval must be positive, got " + interval);
        }
        this.out = out;
        this.interactive = interactive;
        this.interval = interval;
        this.unit = unit;
    }

    /** Reports to stdout: every second in place on a terminal ({@code System.console() != null}), else every 10 s. */
    public static BoundedJobRunner forConsole(String unit) {
        boolean terminal = System.console() != null;
        return new BoundedJobRunner(System.out, terminal, Duration.ofSeconds(terminal ? 1 : 10), unit);
    }

    /**
     * A local environment (a MiniCluster in this JVM, started by {@code executeAsync}) with {@code jobConfig}, whose
     * task managers send accumulators to the job master every second so the progress line moves.
     */
    public static StreamExecutionEnvironment localEnvironment(Configuration jobConfig) {
        return localEnvironment(jobConfig, MIN_HEARTBEAT);
    }

    /**
     * As {@link #localEnvironment(Configuration)}, with the accumulators sent as often as {@code reportInterval}
     * (at least every second, at most Flink's default of every 10 s), so a runner reporting every 10 s does not have
     * them sent every second: each heartbeat Java-serializes every task's accumulators and the job master reads them
     * back, and at one a second that is enough calls for the JIT compilers to compile Java serialization with C2
     * in the middle of a run (issue 13: about a third of the compilers' time in a caption run's window).
     */
    public static StreamExecutionEnvironment localEnvironment(Configuration jobConfig, Duration reportInterval) {
        Configuration conf = new Configuration(jobConfig);
        if (!conf.contains(HeartbeatManagerOptions.HEARTBEAT_INTERVAL)) {
            conf.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, heartbeatFor(reportInterval));
        }
        return StreamExecutionEnvironment.createLocalEnvironment(conf);
    }

    /** The heartbeat (accumulator report) interval for progress reported every {@code reportInterval}. */
    static Duration heartbeatFor(Duration reportInterval) {
        Duration atMost = HeartbeatManagerOptions.HEARTBEAT_INTERVAL.defaultValue();
        return reportInterval.compareTo(MIN_HEARTBEAT) < 0 ? MIN_HEARTBEAT
                : reportInterval.compareTo(atMost) > 0 ? atMost : reportInterval;
    }

    /** A local environment for {@code jobConfig} whose accumulators arrive as often as this runner reports them. */
    public StreamExecutionEnvironment localEnvironmentFor(Configuration jobConfig) {
        return localEnvironment(jobConfig, interval);
    }

    /** Runs the job built on {@code env} to its end; {@code total} is the planned row count, -1 when unknown. */
    public JobSummary run(StreamExecutionEnvironment env, String jobName, long total) throws Exception {
        return run(env, jobName, total, client -> {});
    }

    /**
     * As {@link #run(StreamExecutionEnvironment, String, long)}, handing the submitted job's client to
     * {@code onSubmitted} first (to cancel it, or to read its id).
     */
    public JobSummary run(StreamExecutionEnvironment env, String jobName, long total, Consumer<JobClient> onSubmitted)
            throws Exception {
        long started = System.nanoTime();
        long startedAtMillis = System.currentTimeMillis();
        JobClient client = env.executeAsync(jobName);
        try (StopOnExit onExit = StopOnExit.register("loupe-job-stop", () -> JobStop.cancelAndAwait(client))) {
            return follow(client, jobName, total, onSubmitted, started, startedAtMillis);
        }
    }

    private JobSummary follow(JobClient client, String jobName, long total, Consumer<JobClient> onSubmitted,
                              long started, long startedAtMillis) throws Exception {
        onSubmitted.accept(client);
        CompletableFuture<JobExecutionResult> result = client.getJobExecutionResult();
        Deque<long[]> samples = new ArrayDeque<>();   // {nanoTime, doneThisRun}
        Progress last = Progress.start(total);
        boolean printed = false;
        while (true) {
            try {
                JobExecutionResult done = result.get(interval.toMillis(), TimeUnit.MILLISECONDS);
                Progress finalCounts = Progress.fromAccumulators(done.getAllAccumulatorResults(), total);
                if (interactive && printed) {
                    out.print("\r" + pad(ProgressLine.of(finalCounts, rate(samples, finalCounts, System.nanoTime()), unit)) + "\n");
                }
                return summary(jobName, client, JobSummary.Status.FINISHED, finalCounts, started, startedAtMillis, null);
            } catch (TimeoutException stillRunning) {
                last = poll(client, total, last);
                long now = System.nanoTime();
                samples.addLast(new long[] {now, last.doneThisRun()});
                while (samples.size() > 2 && now - samples.peekFirst()[0] > RATE_WINDOW.toNanos()) {
                    samples.removeFirst();
                }
                String line = ProgressLine.of(last, rate(samples, last, now), unit);
                if (interactive) {
                    out.print("\r" + pad(line));
                } else {
                    out.println(line);
                }
                out.flush();
                printed = true;
            } catch (ExecutionException failed) {
                if (interactive && printed) {
                    out.println();
                }
                Throwable cause = failed.getCause() == null ? failed : failed.getCause();
                boolean cancelled = ExceptionUtils.findThrowable(cause, JobCancellationException.class).isPresent();
                return summary(jobName, client, cancelled ? JobSummary.Status.CANCELED : JobSummary.Status.FAILED,
                        poll(client, total, last), started, startedAtMillis, cause);
            }
        }
    }

    private static JobSummary summary(String jobName, JobClient client, JobSummary.Status status, Progress progress,
            long startedNanos, long startedAtMillis, Throwable failure) {
        return new JobSummary(jobName, client.getJobID().toString(), status, progress,
                Duration.ofNanos(System.nanoTime() - startedNanos), startedAtMillis, failure);
    }

    /** The job's counts now, or {@code previous} when they cannot be read (e.g. the job is restarting or over). */
    private static Progress poll(JobClient client, long total, Progress previous) {
        try {
            Map<String, Object> accumulators =
                    client.getAccumulators().get(ACCUMULATOR_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return Progress.fromAccumulators(accumulators, total);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return previous;
        } catch (Exception unavailable) {
            return previous;
        }
    }

    private static double rate(Deque<long[]> samples, Progress now, long nowNanos) {
        if (samples.isEmpty()) {
            return Double.NaN;
        }
        long[] first = samples.peekFirst();
        double seconds = (nowNanos - first[0]) / 1e9;
        if (seconds < 0.5) {
            return Double.NaN;
        }
        return Math.max(0, now.doneThisRun() - first[1]) / seconds;
    }

    private static String pad(String line) {
        return line.length() >= 100 ? line : line + " ".repeat(100 - line.length());
    }
}
