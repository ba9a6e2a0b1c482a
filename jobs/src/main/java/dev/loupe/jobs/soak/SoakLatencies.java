package dev.loupe.jobs.soak;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latency from each request's write to the first committed result read for it, in arrays allocated once (the heap
 * is measured during the run), and its percentiles per requested length ({@link SoakInputs#lengthLabel}). Beside it,
 * the time the result spent in the pipeline's stages (fetch, decode, batch wait, inference: the result's own
 * timings), which leaves out the wait for the checkpoint that commits it, so that the schedulings' difference is not
 * hidden by the checkpoint interval; and that wait itself, from the moment the job's sink handed the result to its
 * Kafka producer (the record's create time) to the moment it was read committed: the checkpoint's phase, its run, the
 * transaction's commit and the reader's fetch, the part of the latency that exactly-once output adds.
 *
 * <p>The results' create times also give the job's steady throughput ({@link #steadyPerSecond}): how fast it wrote
 * results once the pipeline was full, without the fixed latency a short run's window holds at both ends (the first
 * batch filling and computing before anything is committed, the last result waiting for its checkpoint).
 */
public final class SoakLatencies {

    /** Percentiles (nearest rank) of {@code count} results' latencies, in milliseconds. */
    public record Percentiles(int count, long p50, long p99, long max) {}

    private final SoakInputs inputs;
    /** Written by the writer thread of a paced run, read by the reader. */
    private final AtomicLongArray writtenAt;
    private final long[] latency;
    private final long[] served;
    private final long[] commitWait;
    private final long[] emitted;

    public SoakLatencies(SoakInputs inputs) {
        this.inputs = inputs;
        this.writtenAt = new AtomicLongArray(inputs.count());
        this.latency = new long[inputs.count()];
        Arrays.fill(latency, -1);
        this.served = new long[inputs.count()];
        this.commitWait = new long[inputs.count()];
        this.emitted = new long[inputs.count()];
    }

    /** Request {@code index} is written now ({@code millis}, wall clock). */
    public void written(int index, long millis) {
        writtenAt.set(index, millis);
    }

    /**
     * A result for request {@code index} was read at {@code millis}, having spent {@code servedMillis} in the
     * pipeline's stages; later ones (duplicates) do not count.
     */
    public void result(int index, long millis, long servedMillis) {
        result(index, millis, servedMillis, millis);
    }

    /**
     * As {@link #result(int, long, long)}, the result having been handed to the sink's producer at
     * {@code emittedMillis} (wall clock, the Kafka record's create time).
     */
    public void result(int index, long millis, long servedMillis, long emittedMillis) {
        if (index >= 0 && index < latency.length && latency[index] < 0) {
            latency[index] = Math.max(0, millis - writtenAt.get(index));
            served[index] = Math.max(0, servedMillis);
            commitWait[index] = Math.max(0, millis - emittedMillis);
            emitted[index] = emittedMillis;
        }
    }

    /** The percentiles of every label with results: numeric lengths in ascending order, then the others. */
    public Map<String, Percentiles> byLength() {
        return percentilesByLength(latency);
    }

    /** As {@link #byLength}, of the time in the pipeline's stages (before the commit). */
    public Map<String, Percentiles> servedByLength() {
        return percentilesByLength(served);
    }

    /** As {@link #byLength}, of the time from the sink's producer to the committed read (the exactly-once wait). */
    public Map<String, Percentiles> commitWaitByLength() {
        return percentilesByLength(commitWait);
    }

    /** Results counted by {@link #steadyPerSecond}: the middle of the run, between its first and last tenth. */
    public static final double STEADY_SHARE = 0.8;

    /** Fewest results {@link #steadyPerSecond} fits a rate to. */
    static final int STEADY_MIN_RESULTS = 20;

    /**
     * Results per second over the middle {@link #STEADY_SHARE} of the results, ordered by the time the job's sink
     * wrote them (their records' create time): the slope of a least-squares line through (time, results written so
     * far), so that results written a batch at a time, and committed a checkpoint at a time, do not make it jump.
     * NaN with fewer than {@link #STEADY_MIN_RESULTS} results, or when they were all written in the same
     * millisecond.
     */
    public double steadyPerSecond() {
        long[] times = new long[emitted.length];
        int n = 0;
        for (int i = 0; i < latency.length; i++) {
            if (latency[i] >= 0) {
                times[n++] = emitted[i];
            }
        }
        return steadyPerSecond(Arrays.copyOf(times, n));
    }

    /** {@link #steadyPerSecond()} of results written at {@code millis} (any order). */
    static double steadyPerSecond(long[] millis) {
        if (millis.length < STEADY_MIN_RESULTS) {
            return Double.NaN;
        }
        long[] sorted = millis.clone();
        Arrays.sort(sorted);
        int skip = (int) Math.round(sorted.length * (1 - STEADY_SHARE) / 2);
        int from = skip;
        int to = sorted.length - skip;
        double meanT = 0;
        for (int i = from; i < to; i++) {
            meanT += sorted[i] - sorted[from];
        }
        meanT /= to - from;
        double meanI = (from + to - 1) / 2.0;
        double covariance = 0;
        double variance = 0;
        for (int i = from; i < to; i++) {
            double dt = sorted[i] - sorted[from] - meanT;
            covariance += dt * (i - meanI);
            variance += dt * dt;
        }
        return variance == 0 ? Double.NaN : 1000 * covariance / variance;
    }

    private Map<String, Percentiles> percentilesByLength(long[] millis) {
        Map<String, List<Long>> groups = new TreeMap<>(SoakLatencies::compareLabels);
        for (int i = 0; i < latency.length; i++) {
            if (latency[i] >= 0) {
                groups.computeIfAbsent(inputs.lengthLabel(i), k -> new ArrayList<>()).add(millis[i]);
            }
        }
        Map<String, Percentiles> out = new LinkedHashMap<>();
        groups.forEach((label, values) -> out.put(label, percentiles(values)));
        return out;
    }

    static Percentiles percentiles(List<Long> values) {
        long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Percentiles(sorted.length, rank(sorted, 0.50), rank(sorted, 0.99), sorted[sorted.length - 1]);
    }

    /** The nearest-rank percentile {@code q} of {@code sorted} (not empty). */
    private static long rank(long[] sorted, double q) {
        int k = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, k - 1))];
    }

    private static int compareLabels(String a, String b) {
        boolean na = a.chars().allMatch(Character::isDigit);
        boolean nb = b.chars().allMatch(Character::isDigit);
        if (na && nb) {
            return Integer.compare(Integer.parseInt(a), Integer.parseInt(b));
        }
        return na ? -1 : nb ? 1 : a.compareTo(b);
    }
}
