package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AdmissionOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;

/**
 * The step loop of continuous batching over a {@link ContinuousBatch}: at every step boundary, while fewer than
 * {@code maxActiveRows} rows decode and requests wait, the waiting ones are admitted (their prefixes built by the
 * caller's {@link Admission}, then prefilled) and join the shared decode step; each finished row goes to the
 * callback the moment it finishes. Admitting costs a prefill and a repack of the cache, so while rows are decoding
 * a group joins only once {@code minJoin} slots are free (or all the waiting requests fit); with none decoding,
 * whatever waits joins at once.
 *
 * <p>Which of the waiting requests join is the {@link AdmissionOrder}: in order of arrival, or those with the fewest
 * new tokens to generate first ({@link AdmissionOrder#SHORTEST_FIRST}). Rows that join together then tend to finish
 * together, so slots free up in whole groups and the steps stay fuller (fewer steps for the same rows: a step costs
 * nearly as much with few rows as with many on a CPU), and a short answer is not held behind the long captions that
 * arrived before it. A request passed over {@link #MAX_PASSOVERS} times joins at the next admission whatever its
 * length, so long requests still get their turn under a steady stream of short ones. Requests are told apart by
 * identity.
 *
 * @param <T> the caller's request
 */
public final class DecodeScheduler<T> {

    /** Admissions a waiting request may be passed over under {@link AdmissionOrder#SHORTEST_FIRST}. */
    public static final int MAX_PASSOVERS = 8;

    /** Turns waiting requests into joining rows (building their prefixes); reports and drops any it cannot. */
    @FunctionalInterface
    public interface Admission<T> {
        List<ContinuousBatch.Joining<T>> prepare(List<T> waiting);
    }

    private final int maxActiveRows;
    private final int minJoin;
    private final AdmissionOrder order;
    private final ToIntFunction<T> newTokens;
    /**
     * Under {@link AdmissionOrder#SHORTEST_FIRST}: per request left waiting by the last admission, the admissions
     * that passed it over (rebuilt at each admission, so requests that left the queue otherwise are not kept).
     */
    private Map<T, Integer> passedOver = new IdentityHashMap<>();

    /**
     * First come, first served.
     *
     * @param maxActiveRows most rows decoding at once (&gt;= 1)
     * @param minJoin       free slots needed before a group joins rows already decoding (1..maxActiveRows)
     */
    public DecodeScheduler(int maxActiveRows, int minJoin) {
        this(maxActiveRows, minJoin, AdmissionOrder.ARRIVAL, request -> 0);
    }

    /**
     * @param order     which waiting requests join first
     * @param newTokens a request's most new tokens (its max new tokens), for {@link AdmissionOrder#SHORTEST_FIRST}
     */
    public DecodeScheduler(int maxActiveRows, int minJoin, AdmissionOrder order, ToIntFunction<T> newTokens) {
        if (maxActiveRows < 1 || minJoin < 1 || minJoin > maxActiveRows) {
            throw new IllegalArgumentException("need 1 <= minJoin <= maxActiveRows, got " + minJoin + " and "
                    + maxActiveRows);
        }
        this.maxActiveRows = maxActiveRows;
        this.minJoin = minJoin;
        this.order = Objects.requireNonNull(order, "order");
        this.newTokens = Objects.requireNonNull(newTokens, "newTokens");
    }

    /** Schedules with groups joining once a quarter of the rows (at least one) are free, admitted in {@code order}. */
    public static <T> DecodeScheduler<T> withRows(int maxActiveRows, AdmissionOrder order,
                                                  ToIntFunction<T> newTokens) {
        return new DecodeScheduler<>(maxActiveRows, Math.max(1, maxActiveRows / 4), order, newTokens);
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
            batch.admit(admission.prepare(take(waiting, free))).forEach(done);
        }
        batch.step(!waiting.isEmpty()).forEach(done);
    }

    /**
     * Takes the group that joins, up to {@code free} requests, from {@code waiting} in this scheduler's order; the
     * rest stay in their order of arrival.
     */
    List<T> take(Queue<T> waiting, int free) {
        List<T> group = new ArrayList<>(Math.min(free, waiting.size()));
        if (order == AdmissionOrder.ARRIVAL || waiting.size() <= free) {
            while (group.size() < free && !waiting.isEmpty()) {
                group.add(waiting.poll());
            }
            passedOver = new IdentityHashMap<>();
            return group;
        }
        List<T> held = new ArrayList<>(waiting);
        int[] passes = new int[held.size()];
        int[] tokens = new int[held.size()];
        for (int i = 0; i < held.size(); i++) {
            passes[i] = passedOver.getOrDefault(held.get(i), 0);
            tokens[i] = passes[i] >= MAX_PASSOVERS ? 0 : newTokens.applyAsInt(held.get(i));
        }
        Integer[] byTurn = new Integer[held.size()];
        Arrays.setAll(byTurn, i -> i);
        Arrays.sort(byTurn, Comparator.<Integer>comparingInt(i -> passes[i] >= MAX_PASSOVERS ? 0 : 1)
                .thenComparingInt(i -> tokens[i])
                .thenComparingInt(i -> i));
        boolean[] joins = new boolean[held.size()];
        for (int k = 0; k < free; k++) {
            joins[byTurn[k]] = true;
        }
        Map<T, Integer> stillWaiting = new IdentityHashMap<>();
        waiting.clear();
        for (int i = 0; i < held.size(); i++) {
            if (joins[i]) {
                group.add(held.get(i));
            } else {
                waiting.add(held.get(i));
                stillWaiting.put(held.get(i), passes[i] + 1);
            }
        }
        passedOver = stillWaiting;
        return group;
    }
}
