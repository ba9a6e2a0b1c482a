package dev.loupe.jobs.bounded;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A bounded job's counts at one moment, read from its {@link OutcomeCounter} accumulators: rows that succeeded,
 * failures per error code, the rows restored from a checkpoint at the start of this run, the planned total
 * ({@code -1} when unknown), the results' batch sizes and stage times, and when the work ran ({@link ActiveSpan}).
 */
public record Progress(long total, long ok, SortedMap<String, Long> failuresByCode, long resumed,
                       ResultStages stages, ActiveSpan span) {
    /** The outcome name of a successful row. */
    public static final String OK = "ok";
    /** Accumulator name prefix of the per-outcome counts: {@code loupe.outcome.ok}, {@code loupe.outcome.IMAGE_CORRUPT}. */
    public static final String OUTCOME_ACCUMULATOR_PREFIX = "loupe.outcome.";
    /** Accumulator name prefix of the counts restored from the checkpoint this run started from. */
    public static final String RESUMED_ACCUMULATOR_PREFIX = "loupe.resumed.";

    public Progress {
        failuresByCode = new TreeMap<>(failuresByCode);
        stages = stages == null ? ResultStages.NONE : stages;
        span = span == null ? ActiveSpan.NONE : span;
    }

    public Progress(long total, long ok, SortedMap<String, Long> failuresByCode, long resumed, ResultStages stages) {
        this(total, ok, failuresByCode, resumed, stages, ActiveSpan.NONE);
    }

    public Progress(long total, long ok, SortedMap<String, Long> failuresByCode, long resumed) {
        this(total, ok, failuresByCode, resumed, ResultStages.NONE);
    }

    /** Progress before the job reported anything. */
    public static Progress start(long total) {
        return new Progress(total, 0, new TreeMap<>(), 0);
    }

    /** The counts in a job's accumulators (as {@code JobClient.getAccumulators()} returns them). */
    public static Progress fromAccumulators(Map<String, Object> accumulators, long total) {
        long ok = 0;
        long resumed = 0;
        SortedMap<String, Long> failures = new TreeMap<>();
        for (Map.Entry<String, Object> e : accumulators.entrySet()) {
            if (!(e.getValue() instanceof Number number)) {
                continue;
            }
            String name = e.getKey();
            if (name.startsWith(RESUMED_ACCUMULATOR_PREFIX)) {
                resumed += number.longValue();
            } else if (name.equals(OUTCOME_ACCUMULATOR_PREFIX + OK)) {
                ok += number.longValue();
            } else if (name.startsWith(OUTCOME_ACCUMULATOR_PREFIX)) {
                failures.merge(name.substring(OUTCOME_ACCUMULATOR_PREFIX.length()), number.longValue(), Long::sum);
            }
        }
        return new Progress(total, ok, failures, resumed, ResultStages.fromAccumulators(accumulators),
                ActiveSpan.fromAccumulators(accumulators));
    }

    /** All failures, whatever their code. */
    public long failed() {
        return failuresByCode.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Rows finished, successful or not. */
    public long done() {
        return ok + failed();
    }

    /** Rows finished by this run (not restored from a checkpoint). */
    public long doneThisRun() {
        return Math.max(0, done() - resumed);
    }

    public boolean totalKnown() {
        return total >= 0;
    }
}
