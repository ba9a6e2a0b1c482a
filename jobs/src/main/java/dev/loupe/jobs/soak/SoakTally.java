package dev.loupe.jobs.soak;

import java.util.Map;
import java.util.TreeMap;

/**
 * Counts, per request index, the results and dead letters read back, in arrays allocated once (so the tally itself
 * does not grow the heap while it is being measured), and derives what was lost, duplicated or misrouted.
 */
public final class SoakTally {

    private final SoakInputs inputs;
    private final byte[] results;
    private final byte[] deadLetters;
    private final Map<String, Long> codes = new TreeMap<>();
    private int accounted;
    private long resultRecords;
    private long deadLetterRecords;
    private long foreign;

    public SoakTally(SoakInputs inputs) {
        this.inputs = inputs;
        this.results = new byte[inputs.count()];
        this.deadLetters = new byte[inputs.count()];
    }

    /** A result for request {@code index} (-1 or out of range: a record no soak request explains). */
    public void result(int index) {
        resultRecords++;
        if (!known(index)) {
            foreign++;
            return;
        }
        count(index, results);
    }

    /** A dead letter with {@code code} for request {@code index}. */
    public void deadLetter(int index, String code) {
        deadLetterRecords++;
        codes.merge(code, 1L, Long::sum);
        if (!known(index)) {
            foreign++;
            return;
        }
        count(index, deadLetters);
    }

    private boolean known(int index) {
        return index >= 0 && index < results.length;
    }

    private void count(int index, byte[] counts) {
        if (results[index] == 0 && deadLetters[index] == 0) {
            accounted++;
        }
        if (counts[index] < Byte.MAX_VALUE) {
            counts[index]++;
        }
    }

    /** Requests with at least one outcome so far. */
    public int accounted() {
        return accounted;
    }

    public boolean complete() {
        return accounted == results.length;
    }

    /** The figures now. */
    public Counts counts() {
        long duplicates = 0;
        long lost = 0;
        long wrong = 0;
        for (int i = 0; i < results.length; i++) {
            int outcomes = results[i] + deadLetters[i];
            if (outcomes == 0) {
                lost++;
            } else {
                duplicates += outcomes - 1;
                boolean good = inputs.kind(i).good();
                if (good ? deadLetters[i] > 0 : results[i] > 0) {
                    wrong++;
                }
            }
        }
        return new Counts(results.length, results.length - inputs.badCount(), inputs.badCount(), resultRecords,
                deadLetterRecords, duplicates, lost, wrong, foreign, Map.copyOf(codes));
    }

    /**
     * @param wrongOutcome good requests with a dead letter, or bad ones with a result
     * @param foreign records that no request of this run explains
     */
    public record Counts(int requests, int good, int bad, long results, long deadLetters, long duplicates, long lost,
            long wrongOutcome, long foreign, Map<String, Long> deadLettersByCode) {

        /** Every good request got exactly one result, every bad one exactly one dead letter, nothing else arrived. */
        public boolean exact() {
            return duplicates == 0 && lost == 0 && wrongOutcome == 0 && foreign == 0;
        }
    }
}
