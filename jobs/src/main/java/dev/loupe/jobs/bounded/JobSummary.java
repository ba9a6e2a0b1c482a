package dev.loupe.jobs.bounded;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How a bounded job ended: its status, the final counts (per outcome, failures per error code), its wall time and
 * throughput, and why it failed when it did. {@link #print} writes the summary people read at the end of a run.
 *
 * @param duration the wall time from submitting the job to its end
 * @param startedAtMillis epoch ms when the job was submitted; 0 when unknown
 * @param failure the job's failure or cancellation cause; null when it finished
 */
public record JobSummary(String jobName, String jobId, Status status, Progress progress, Duration duration,
        long startedAtMillis, Throwable failure) {

    /** A summary whose submission time is unknown (no start-up figure). */
    public JobSummary(String jobName, String jobId, Status status, Progress progress, Duration duration,
            Throwable failure) {
        this(jobName, jobId, status, progress, duration, 0, failure);
    }

    /** How the job ended. */
    public enum Status { FINISHED, CANCELED, FAILED }

    public boolean finished() {
        return status == Status.FINISHED;
    }

    /** Rows this run finished per second of wall time (rows restored from a checkpoint excluded). */
    public double throughput() {
        double seconds = duration.toMillis() / 1000.0;
        return seconds <= 0 ? Double.NaN : progress.doneThisRun() / seconds;
    }

    /**
     * Rows this run finished per second from the first input read to the last outcome ({@link ActiveSpan}): the
     * pipeline's own rate, without the job's start-up; NaN when that span is unknown or empty.
     */
    public double activeThroughput() {
        double seconds = progress.span().duration().toMillis() / 1000.0;
        return seconds <= 0 ? Double.NaN : progress.doneThisRun() / seconds;
    }

    /** From submitting the job to its first input read (MiniCluster, operators, model load); null when unknown. */
    public Duration startUp() {
        ActiveSpan span = progress.span();
        return startedAtMillis <= 0 || !span.known() ? null
                : Duration.ofMillis(Math.max(0, span.firstReadMillis() - startedAtMillis));
    }

    /**
     * The summary lines: the outcome counts, failures per code, throughput, and each output ({@code label} to
     * location, in the map's order).
     */
    public List<String> lines(String unit, Map<String, String> outputs) {
        List<String> lines = new ArrayList<>();
        String head = switch (status) {
            case FINISHED -> jobName + " finished in " + ProgressLine.duration(duration);
            case CANCELED -> jobName + " was cancelled after " + ProgressLine.duration(duration);
            case FAILED -> jobName + " failed after " + ProgressLine.duration(duration)
                    + (failure == null ? "" : ": " + rootMessage(failure));
        };
        lines.add(head);
        lines.add("  " + progress.done() + (progress.totalKnown() ? " of " + progress.total() : "") + " " + unit
                + ": " + progress.ok() + " ok, " + progress.failed() + " failed");
        progress.failuresByCode().forEach((code, n) -> lines.add("    " + code + ": " + n));
        if (progress.resumed() > 0) {
            lines.add("  resumed from a checkpoint with " + progress.resumed() + " " + unit + " already done");
        }
        double rate = throughput();
        double active = activeThroughput();
        if (Double.isNaN(active)) {
            lines.add("  throughput: " + (Double.isNaN(rate) ? "-" : ProgressLine.rate(rate)) + " " + unit + "/s ("
                    + progress.doneThisRun() + " in this run)");
        } else {
            Duration startUp = startUp();
            lines.add(String.format(Locale.ROOT, "  throughput: %s %s/s from the first read to the last result "
                            + "(%d in this run, %.1f s); %s %s/s over the whole run (%.1f s%s)", ProgressLine.rate(active),
                    unit, progress.doneThisRun(), progress.span().duration().toMillis() / 1000.0,
                    Double.isNaN(rate) ? "-" : ProgressLine.rate(rate), unit, duration.toMillis() / 1000.0,
                    startUp == null ? "" : String.format(Locale.ROOT, ", start-up %.1f s", startUp.toMillis() / 1000.0)));
        }
        String stages = progress.stages().line(progress.ok());
        if (!stages.isEmpty()) {
            lines.add("  " + stages);
        }
        outputs.forEach((label, where) -> lines.add("  " + label + ": " + where));
        return lines;
    }

    public void print(PrintStream out, String unit, Map<String, String> outputs) {
        lines(unit, outputs).forEach(out::println);
        out.flush();
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }
}
