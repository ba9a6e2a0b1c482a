package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.util.List;

/**
 * A language model as the generation strategies see it, one decoding step at a time: it turns each request's input
 * embeddings into a {@link DecodingState} whose rows hold the logits of the next token, and a state continues by
 * the tokens fed to its rows. Decoder-only models ({@link PrefixStepDecoder}: the input is the decoder's prefix) and
 * encoder-decoder models ({@link dev.loupe.model.t5.T5StepDecoder}: the input is the encoder's) implement it, so
 * greedy, sampling, beam search and candidate ranking ({@link TextGenerator}, {@link CandidateScorer}) are written
 * once. Implementations are thread-safe; every state belongs to one caller.
 */
public interface StepDecoder extends AutoCloseable {

    /** Width of the logits. */
    int vocabSize();

    /** Width of an input embedding. */
    int inputWidth();

    /** Token embeddings of the model's input side, flat [batch, seq, inputWidth]. */
    float[] embed(long[] ids, int batch, int seq) throws OrtException;

    /**
     * The ids the repetition penalty sees besides the generated ones, as transformers passes them: a decoder-only
     * model's prompt input ids, an encoder-decoder's decoder start token.
     */
    int[] penaltyContext(int[] promptIds);

    /** Whether {@link DecodingState#next} accepts more than one token per row (candidate scoring needs it). */
    boolean feedsSequences();

    /**
     * Runs every request's input (rows of [len_i][inputWidth], len_i &gt;= 1) as one batch; the state has one row per
     * request, in order, whose last logits predict its first new token. A row's logits do not depend on its batch.
     */
    default DecodingState start(List<float[][]> inputs) throws OrtException {
        return start(inputs, StepOutputs.LOGITS);
    }

    /** As {@link #start(List)}, the first run returning {@code outputs}. */
    default DecodingState start(List<float[][]> inputs, StepOutputs outputs) throws OrtException {
        return startFrom(VisualPrefix.onHost(inputs), outputs);
    }

    /**
     * As {@link #start(List, StepOutputs)} over prefixes as the strategies pass them: host rows, or (for the
     * device-bound runner) an image part left in the device's memory. The caller keeps and closes the prefixes.
     */
    DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException;

    /**
     * As {@link #start(List, StepOutputs)} for a generation that adds at most {@code newTokens} tokens per row: a
     * decoder that reserves cache room ahead of the prompt reserves no more than that (a cache still grows on
     * demand when fed more).
     */
    default DecodingState start(List<float[][]> inputs, StepOutputs outputs, int newTokens) throws OrtException {
        return startFrom(VisualPrefix.onHost(inputs), outputs, newTokens);
    }

    /** As {@link #start(List, StepOutputs, int)} over prefixes as the strategies pass them ({@link #startFrom}). */
    default DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs, int newTokens)
            throws OrtException {
        return startFrom(prefixes, outputs);
    }

    /**
     * Whether runs can return each row's top choices instead of (or besides) the logits ({@link TokenChoiceHead};
     * packages written before it cannot).
     */
    boolean offersChoices();

    /** Frees the model's sessions. */
    @Override
    void close() throws OrtException;
}
