package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.nio.LongBuffer;
import java.util.List;

/**
 * The runs of a decoder whose rows' caches are ONNX Runtime tensors of one run each, packed into one batch when rows
 * join ({@link ContinuousBatch}'s path without a shared-buffer cache): a decoder-only {@link LanguageModelRunner}
 * ({@link RunnerRows}) or a T5 encoder-decoder ({@link dev.loupe.model.t5.T5Rows}). A row's cached positions are
 * right-aligned after padding that its mask hides, so rows of different lengths share one step. One per batch (not
 * thread-safe).
 */
public interface PackedDecoder {

    /** What a run leaves for its rows: their self-attention caches and whatever else a step reads per row. */
    interface Caches extends AutoCloseable {
        int batch();

        /** Columns of the self-attention cache (the longest row's cached positions, or more). */
        int length();

        @Override
        void close();
    }

    /** A run's outputs and the caches its rows continue from (the caller closes the caches). */
    record Run(LanguageModelRunner.DecoderOutput output, Caches caches) {}

    /** The token a slot whose row has left is fed (its outputs are ignored). */
    long padTokenId();

    /** How many positions a row's self-attention cache holds after its prefill. */
    int prefilledLength(VisualPrefix prefix);

    /** Runs the prefill of {@code prefixes} as one batch; the outputs are each row's at its last position. */
    Run prefill(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException;

    /**
     * Feeds {@code ids[s]} to every slot {@code s} of {@code past} after its last {@code valid[s]} cached positions
     * (-1: a slot whose row has left, attending to everything). Takes {@code past}: it is closed when this returns or
     * throws, what the new caches still need having moved into them.
     */
    Run step(long[] ids, Caches past, int[] valid, StepOutputs outputs) throws OrtException;

    /**
     * New caches whose row {@code i} is row {@code rows[i]} of {@code sources.get(sourceOf[i])}, keeping that row's
     * last {@code keep[i]} self-attention positions right-aligned in {@code length} columns (as
     * {@link KvCache#pack}). The sources stay open and the caller's.
     */
    Caches pack(List<Caches> sources, int[] sourceOf, int[] rows, int[] keep, int length) throws OrtException;

    /**
     * A step's self-attention mask, flat [slots, length + 1] into {@code out}: slot {@code s} attends to its last
     * {@code valid[s]} cached columns and to the token fed now; a slot whose row has left ({@code -1}) to everything.
     */
    static void stepMask(LongBuffer out, int[] valid, int length) {
        int total = length + 1;
        for (int s = 0; s < valid.length; s++) {
            int pad = valid[s] < 0 ? 0 : length - valid[s];
            for (int t = 0; t < total; t++) {
                out.put(s * total + t, t < pad ? 0 : 1);
            }
        }
    }
}
