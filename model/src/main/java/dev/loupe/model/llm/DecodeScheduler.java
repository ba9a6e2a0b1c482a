package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.function.Consumer;

/**
 * The step loop of continuous batching over a {@link ContinuousBatch}: at every step boundary, while fewer than
 * {@code maxActiveRows} rows decode and requests wait, the waiting ones are admitted (their prefixes built by the
 * caller's {@link Admission}, then prefilled) and join the shared decode step; each finished row goes to the
 * callback the moment it finishes. Admitting costs a prefill and a repack of the cache, so while rows are decoding
 * a group joins only once {@code minJoin} slots are free (or all the waiting requests fit); with none decoding,
 * whatever waits joins at once.
 *
 * @param <T> the caller's request
 */
public final class DecodeScheduler<T> {

    /** Turns waiting requests into joining rows (building their prefixes); reports and drops any it cannot. */
    @FunctionalInterface
    public interface Admission<T> {
        List<ContinuousBatch.Joining<T>> prepare(List<T> waiting);
    }

    private final int maxActiveRows;
    private final int minJoin;

    /**
     * @param maxActiveRows most rows decoding at once (&gt;= 1)
     * @param minJoin       free slots needed before a group joins rows already decoding (1..maxActiveRows)
     */
    public DecodeScheduler(int maxActiveRows, int minJoin) {
        if (maxActiveRows < 1 || minJoin < 1 || minJoin > maxActiveRows) {
            throw new IllegalArgumentException("need 1 <= minJoin <= maxActiveRows, got " + minJoin + " and "
                    + maxActiveRows);
        }
        this.maxActiveRows = maxActiveRows;
        this.minJoin = minJoin;
    }

    /** Schedules with groups joining once a quarter of the rows (at least one) are free. */
    public static <T> DecodeScheduler<T> withRows(int maxActiveRows) {
        return new DecodeScheduler<>(maxActiveRows, Math.max(1, maxActiveRows / 4));
    }

    public int maxActiveRows() {
        return maxActiveRows;
    }

    /** Free slots needed before a group joins rows already decoding. */
    public int minJoin() {
        return minJoin;
    }

    /**
     * The admission rule: whether a group joins {@code active} decoding rows at this step boundary while
     * {@code waiting} requests wait.
     */
    public boolean admits(int active, int waiting) {
        int free = maxActiveRows - active;
        return waiting > 0 && free > 0 && (active == 0 || free >= Math.min(minJoin, waiting));
    }

    /**
     * Runs until nothing waits and no row decodes. On an exception the rows still decoding are lost to this run
     * (the caller still holds their requests) and {@code batch} must be closed.
     */
    public void run(ContinuousBatch<T> batch, Queue<T> waiting, Admission<T> admission,
                    Consumer<ContinuousBatch.Finished<T>> done) throws OrtException {
        while (!waiting.isEmpty() || batch.size() > 0) {
            advance(batch, waiting, admission, done);
        }
    }

    /**
     * One step boundary and one step: admits from {@code waiting} what the admission rule allows, then runs one
     * decoder step if any row is decoding. A caller fed by a stream (whose queue is never finished) calls this in
     * its own loop, between taking in requests; exceptions as {@link #run}.
     */
    public void advance(ContinuousBatch<T> batch, Queue<T> waiting, Admission<T> admission,
                        Consumer<ContinuousBatch.Finished<T>> done) throws OrtException {
        int free = maxActiveRows - batch.size();
        if (admits(batch.size(), waiting.size())) {
            List<T> group = new ArrayList<>(Math.min(free, waiting.size()));
            while (group.size() < free && !waiting.isEmpty()) {
                group.add(waiting.poll());
            }
            batch.admit(admission.prepare(group)).forEach(done);
        }
        batch.step(!waiting.isEmpty()).forEach(done);
    }
}
