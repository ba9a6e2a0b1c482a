package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;

/**
 * Rows being decoded by a {@link StepDecoder}: the logits of the last run (one or more positions per row) and/or
 * each row's top choices ({@link TokenChoiceHead}), as the run asked ({@link StepOutputs}), and the model state
 * behind them (KV caches kept in ONNX Runtime memory). Close it; {@link #next} hands its resources on.
 */
public interface DecodingState extends AutoCloseable {

    int rows();

    /** Logit positions per row of the last run. */
    int positions();

    /** Whether the last run returned logits ({@link #logits} and friends fail otherwise). */
    default boolean hasLogits() {
        return true;
    }

    /** How many choices per row the last run returned (0: none). */
    default int choiceCount() {
        return 0;
    }

    /**
     * Copies row {@code row}'s top choices at its last position, best first, into the first {@link #choiceCount}
     * cells of {@code ids} and {@code logProbs} (log_softmax of the raw logits).
     */
    default void lastChoices(int row, int[] ids, float[] logProbs) {
        throw new IllegalStateException("the last run returned no token choices");
    }

    /** Row {@code row}'s logits at position {@code position} of the last run (a copy). */
    float[] logits(int row, int position);

    /** Row {@code row}'s logits at its last position. */
    default float[] lastLogits(int row) {
        return logits(row, positions() - 1);
    }

    /** Copies row {@code row}'s logits at its last position into {@code into} (vocabulary-long), allocating nothing. */
    default void lastLogits(int row, float[] into) {
        float[] logits = lastLogits(row);
        System.arraycopy(logits, 0, into, 0, logits.length);
    }

    /**
     * Continues the rows {@code from} (indices into this state's rows; repeats allowed, e.g. beams) with
     * {@code seq} tokens each ({@code tokens} flat [from.length, seq]); the new state holds the logits of every fed
     * position. This state is used up: it must not be used again, and closing it is then a no-op.
     */
    default DecodingState next(int[] from, long[] tokens, int seq) throws OrtException {
        return next(from, tokens, seq, StepOutputs.LOGITS);
    }

    /**
     * As {@link #next(int[], long[], int)}, returning {@code outputs} (choices need
     * {@link StepDecoder#offersChoices()}).
     */
    DecodingState next(int[] from, long[] tokens, int seq, StepOutputs outputs) throws OrtException;

    @Override
    void close();

    /** Whether gathering {@code rows} from {@code batch} rows gives the same rows back. */
    static boolean isIdentity(int[] rows, int batch) {
        if (rows.length != batch) {
            return false;
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }
}
