package dev.loupe.model.llm;

import java.util.List;

/**
 * The per-row bookkeeping of one fused-decoder run over slots [first, first + n) of a {@link SlotCache}, written once
 * for {@link SharedBufferDecoder} and {@link DeviceBoundDecoder}: each row's length after the run, GroupQueryAttention's
 * {@code seqlens_k} (that length - 1) and total sequence length (the longest row), and the positions whose logits the
 * run returns ({@code logits_positions}, [n, k], within the fed tokens). Each decoder copies these into its own input
 * memory.
 */
final class SlotRun {
    private final int first;
    private final int seq;
    private final int k;
    private final int[] lengths;
    private final long[] logitPositions;
    private final int total;

    private SlotRun(int first, int seq, int k, int[] lengths, long[] logitPositions) {
        this.first = first;
        this.seq = seq;
        this.k = k;
        this.lengths = lengths;
        this.logitPositions = logitPositions;
        int longest = 0;
        for (int length : lengths) {
            longest = Math.max(longest, length);
        }
        this.total = longest;
    }

    /**
     * A prefill of {@code prefixes} into empty slots from {@code first}, right-padded to the longest: the logits are
     * each row's at its last prefix position.
     */
    static SlotRun prefill(int first, List<VisualPrefix> prefixes) {
        int n = prefixes.size();
        if (n == 0) {
            throw new IllegalArgumentException("a prefill needs at least one row");
        }
        int[] lengths = new int[n];
        long[] positions = new long[n];
        int seq = 0;
        for (int r = 0; r < n; r++) {
            lengths[r] = prefixes.get(r).length();
            if (lengths[r] < 1) {
                throw new IllegalArgumentException("prefix row " + r + " is empty");
            }
            positions[r] = lengths[r] - 1;
            seq = Math.max(seq, lengths[r]);
        }
        return new SlotRun(first, seq, 1, lengths, positions);
    }

    /**
     * {@code seq} tokens fed to slots [first, first + n) after their cached positions; the logits of the last
     * {@code k} fed positions of each row (k = 1 or seq).
     */
    static SlotRun feed(SlotCache cache, int first, int n, int seq, int k) {
        if (k < 1 || k > seq) {
            throw new IllegalArgumentException("logits of " + k + " of " + seq + " fed positions");
        }
        int[] lengths = new int[n];
        long[] positions = new long[n * k];
        for (int r = 0; r < n; r++) {
            lengths[r] = cache.length(first + r) + seq;
            for (int j = 0; j < k; j++) {
                positions[r * k + j] = seq - k + j;
            }
        }
        return new SlotRun(first, seq, k, lengths, positions);
    }

    /** The run's first slot. */
    int first() {
        return first;
    }

    /** Rows of the run. */
    int rows() {
        return lengths.length;
    }

    /** Tokens (or prefix rows, padded) fed per row. */
    int seq() {
        return seq;
    }

    /** Positions per row whose logits the run returns. */
    int logitsPerRow() {
        return k;
    }

    /** GroupQueryAttention's total sequence length: the longest row after the run. */
    int total() {
        return total;
    }

    /** GroupQueryAttention's {@code seqlens_k}: each row's length after the run, minus one. */
    int[] seqlensK() {
        int[] out = new int[lengths.length];
        for (int r = 0; r < out.length; r++) {
            out[r] = lengths[r] - 1;
        }
        return out;
    }

    /** The fed positions whose logits the run returns, flat [rows, logitsPerRow]. */
    long[] logitPositions() {
        return logitPositions;
    }

    /** Makes {@code cache} hold the run's slots at their lengths after it (before the run). */
    void reserve(SlotCache cache) {
        cache.ensure(first + lengths.length, total);
    }

    /** Records the rows' new lengths in {@code cache} (after the run). */
    void commit(SlotCache cache) {
        for (int r = 0; r < lengths.length; r++) {
            cache.setLength(first + r, lengths[r]);
        }
    }
}
