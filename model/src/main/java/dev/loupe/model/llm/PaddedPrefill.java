package dev.loupe.model.llm;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.nio.LongBuffer;
import java.util.List;

/**
 * The first decoder run's inputs for rows of input embeddings of different lengths: left-padded with the pad
 * token's embedding, masked, positions from the cumulative mask (masked positions get 1, as transformers), so a
 * row's result does not depend on its batch mates. Later steps attend to the same padding plus one column per
 * fed token, which {@link #mask(int[], int)} rebuilds for any selection of rows.
 */
record PaddedPrefill(float[] embeds, long[] mask, long[] positions, int rows, int length, int[] rowLengths) {

    static PaddedPrefill build(List<float[][]> prefixes, float[] padEmbedding, int hidden) {
        int rows = prefixes.size();
        int maxLen = prefixes.stream().mapToInt(p -> p.length).max().orElseThrow();
        float[] embeds = new float[rows * maxLen * hidden];
        long[] mask = new long[rows * maxLen];
        long[] positions = new long[rows * maxLen];
        int[] lengths = new int[rows];
        for (int r = 0; r < rows; r++) {
            float[][] p = prefixes.get(r);
            int pad = maxLen - p.length;
            for (int t = 0; t < maxLen; t++) {
                int at = r * maxLen + t;
                System.arraycopy(t < pad ? padEmbedding : p[t - pad], 0, embeds, at * hidden, hidden);
                mask[at] = t < pad ? 0 : 1;
                positions[at] = t < pad ? 1 : t - pad;
            }
            lengths[r] = p.length;
        }
        return new PaddedPrefill(embeds, mask, positions, rows, maxLen, lengths);
    }

    /** Checks every row is a non-empty list of {@code hidden}-wide embeddings. */
    static void validate(List<VisualPrefix> prefixes, int hidden) throws AnnotationException {
        for (int r = 0; r < prefixes.size(); r++) {
            VisualPrefix prefix = prefixes.get(r);
            if (prefix == null || prefix.length() == 0) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r + " has an empty prefix");
            }
            if (prefix.onDevice() && prefix.image().width() != hidden) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r + " has an image part of width "
                        + prefix.image().width() + ", expected " + hidden);
            }
            if (prefix.onDevice()) {
                checkWidths(r, prefix.before(), hidden);
                checkWidths(r, prefix.after(), hidden);
            } else {
                checkWidths(r, prefix.rows(), hidden);
            }
        }
    }

    private static void checkWidths(int row, float[][] embeddings, int hidden) throws AnnotationException {
        for (float[] e : embeddings) {
            if (e == null || e.length != hidden) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + row
                        + " has an embedding of width " + (e == null ? 0 : e.length) + ", expected " + hidden);
            }
        }
    }

    /**
     * The attention mask of slots whose prefill rows are {@code rowOfSlot} once {@code generated} tokens have been
     * fed after the prefill: [slots, length + generated], the last columns being the fed tokens'.
     */
    long[] mask(int[] rowOfSlot, int generated) {
        long[] out = new long[rowOfSlot.length * (length + generated)];
        mask(rowOfSlot, generated, LongBuffer.wrap(out));
        return out;
    }

    /** {@link #mask(int[], int)} written into {@code out} (from index 0, every element set). */
    void mask(int[] rowOfSlot, int generated, LongBuffer out) {
        int total = length + generated;
        for (int s = 0; s < rowOfSlot.length; s++) {
            int pad = length - rowLengths[rowOfSlot[s]];
            for (int t = 0; t < total; t++) {
                out.put(s * total + t, t < pad ? 0 : 1);
            }
        }
    }

    /** The position ids of {@code seq} tokens fed after {@code fed} earlier ones, per slot: flat [slots, seq]. */
    long[] positions(int[] rowOfSlot, int fed, int seq) {
        long[] out = new long[rowOfSlot.length * seq];
        positions(rowOfSlot, fed, seq, LongBuffer.wrap(out));
        return out;
    }

    /** {@link #positions(int[], int, int)} written into {@code out} (from index 0). */
    void positions(int[] rowOfSlot, int fed, int seq, LongBuffer out) {
        for (int s = 0; s < rowOfSlot.length; s++) {
            for (int k = 0; k < seq; k++) {
                out.put(s * seq + k, rowLengths[rowOfSlot[s]] + fed + k);
            }
        }
    }
}
