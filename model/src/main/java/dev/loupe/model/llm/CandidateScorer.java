package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores given continuations of one input (InstructBLIP-style candidate ranking) over any {@link StepDecoder}: for
 * each candidate, the log-probability of each of its tokens given the input and the candidate's earlier tokens
 * (log_softmax of the float32 logits at the position that predicts it). The input is run once; its state is shared
 * by all candidates, which then run together right-padded in one step (padding after a token cannot reach it under
 * the causal mask). Needs a decoder that {@link StepDecoder#feedsSequences() feeds sequences} (a decoder-only graph
 * written with {@link LlamaGraphs.LogitsMode#ALL_POSITIONS} or {@link LlamaGraphs.LogitsMode#SELECTABLE}, or T5).
 */
public final class CandidateScorer {
    private final StepDecoder decoder;

    public CandidateScorer(StepDecoder decoder) {
        if (!decoder.feedsSequences()) {
            throw new IllegalArgumentException("candidate scoring needs an all-positions or selectable decoder graph");
        }
        this.decoder = decoder;
    }

    /** Over a decoder-only model (its prefix is never padded here, so the pad id is irrelevant). */
    public CandidateScorer(LanguageModelRunner runner) {
        this(new PrefixStepDecoder(runner, 0));
    }

    /** Per-candidate token log-probs and their sum (no length normalisation). */
    public record CandidateLogProbs(float[] tokenLogProbs, double sum) {}

    /**
     * @param input      input embeddings [len][inputWidth] (a decoder-only model's prefix, a T5 encoder's input)
     * @param candidates token ids of each candidate, as they should be scored (append end-of-sequence yourself)
     */
    public List<CandidateLogProbs> score(float[][] input, List<int[]> candidates) throws AnnotationException {
        if (input == null) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty prefix");
        }
        return score(VisualPrefix.onHost(input), candidates);
    }

    /**
     * As {@link #score(float[][], List)} over a prefix as the annotators build it (host rows, or an image part on the
     * device for the device-bound runner); the caller keeps and closes it.
     */
    public List<CandidateLogProbs> score(VisualPrefix input, List<int[]> candidates) throws AnnotationException {
        int vocab = decoder.vocabSize();
        if (input == null || input.length() == 0) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty prefix");
        }
        PaddedPrefill.validate(List.of(input), decoder.inputWidth());
        for (int c = 0; c < candidates.size(); c++) {
            int[] ids = candidates.get(c);
            if (ids == null || ids.length == 0) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "candidate " + c + " has no tokens");
            }
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new AnnotationException(ErrorCode.INVALID_REQUEST, "candidate " + c + " has token id "
                            + id + " outside the vocabulary");
                }
            }
        }
        if (candidates.isEmpty()) {
            return List.of();
        }
        try {
            return run(input, candidates);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }

    private List<CandidateLogProbs> run(VisualPrefix input, List<int[]> candidates) throws OrtException {
        int count = candidates.size();
        float[][] logProbs = new float[count][];
        for (int c = 0; c < count; c++) {
            logProbs[c] = new float[candidates.get(c).length];
        }
        DecodingState state = decoder.startFrom(List.of(input), StepOutputs.LOGITS);
        try {
            float[] first = state.lastLogits(0);
            for (int c = 0; c < count; c++) {
                logProbs[c][0] = (float) LogitsProcessors.logSoftmaxAt(first, candidates.get(c)[0]);
            }
            // Feed tokens 0..n-2 of every candidate (right-padded to the longest); position j predicts token j+1.
            int steps = candidates.stream().mapToInt(ids -> ids.length - 1).max().orElse(0);
            if (steps > 0) {
                long[] ids = new long[count * steps];
                for (int c = 0; c < count; c++) {
                    int[] cand = candidates.get(c);
                    for (int j = 0; j + 1 < cand.length; j++) {
                        ids[c * steps + j] = cand[j];
                    }
                }
                state = state.next(new int[count], ids, steps); // every candidate continues the one input row
                for (int c = 0; c < count; c++) {
                    int[] cand = candidates.get(c);
                    for (int j = 0; j + 1 < cand.length; j++) {
                        logProbs[c][j + 1] = (float) LogitsProcessors.logSoftmaxAt(state.logits(c, j), cand[j + 1]);
                    }
                }
            }
        } finally {
            state.close();
        }
        List<CandidateLogProbs> out = new ArrayList<>(count);
        for (float[] lp : logProbs) {
            double sum = 0;
            for (float v : lp) {
                sum += v;
            }
            out.add(new CandidateLogProbs(lp, sum));
        }
        return out;
    }
}
