package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores given continuations of one prefix (InstructBLIP-style candidate ranking): for each candidate, the
 * log-probability of each of its tokens given the prefix and the candidate's earlier tokens (log_softmax of the
 * float32 logits at the position that predicts it). The prefix is run once; its KV cache is shared by all
 * candidates, which run together right-padded in one all-positions step. Needs a decoder written with
 * {@link LlamaGraphs.LogitsMode#ALL_POSITIONS} or {@link LlamaGraphs.LogitsMode#SELECTABLE}.
 */
public final class CandidateScorer {
    private final LanguageModelRunner runner;

    public CandidateScorer(LanguageModelRunner runner) {
        if (!runner.supportsAllPositions()) {
            throw new IllegalArgumentException("candidate scoring needs an all-positions or selectable decoder graph");
        }
        this.runner = runner;
    }

    /** Per-candidate token log-probs and their sum (no length normalisation). */
    public record CandidateLogProbs(float[] tokenLogProbs, double sum) {}

    /**
     * @param prefix     input embeddings [len][hidden] (image embeddings then prompt embeddings)
     * @param candidates token ids of each candidate, as they should be scored (append end-of-sequence yourself)
     */
    public List<CandidateLogProbs> score(float[][] prefix, List<int[]> candidates) throws AnnotationException {
        int hidden = runner.config().hiddenSize();
        int vocab = runner.config().vocabSize();
        if (prefix == null || prefix.length == 0) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty prefix");
        }
        for (float[] e : prefix) {
            if (e == null || e.length != hidden) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "prefix embedding width "
                        + (e == null ? 0 : e.length) + ", expected " + hidden);
            }
        }
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
            return run(prefix, candidates);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }

    private List<CandidateLogProbs> run(float[][] prefix, List<int[]> candidates) throws OrtException {
        int hidden = runner.config().hiddenSize();
        int len = prefix.length;
        float[] embeds = new float[len * hidden];
        long[] mask = new long[len];
        long[] positions = new long[len];
        for (int t = 0; t < len; t++) {
            System.arraycopy(prefix[t], 0, embeds, t * hidden, hidden);
            mask[t] = 1;
            positions[t] = t;
        }
        int count = candidates.size();
        float[][] logProbs = new float[count][];
        for (int c = 0; c < count; c++) {
            logProbs[c] = new float[candidates.get(c).length];
        }
        try (KvCache empty = KvCache.empty(runner.environment(), runner.config(), 1)) {
            LanguageModelRunner.DecoderOutput first = runner.decode(embeds, 1, len, mask, positions, empty, 1);
            try (KvCache prefixCache = first.present()) {
                float[] next = first.lastLogits(0);
                for (int c = 0; c < count; c++) {
                    logProbs[c][0] = (float) LogitsProcessors.logSoftmaxAt(next, candidates.get(c)[0]);
                }
                int steps = candidates.stream().mapToInt(ids -> ids.length - 1).max().orElse(0);
                if (steps > 0) {
                    scoreRest(prefixCache, len, candidates, steps, logProbs);
                }
            }
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

    /** Feeds tokens 0..n-2 of every candidate (right-padded to {@code steps}); position j predicts token j+1. */
    private void scoreRest(KvCache prefixCache, int len, List<int[]> candidates, int steps, float[][] logProbs)
            throws OrtException {
        int count = candidates.size();
        long[] ids = new long[count * steps];
        long[] mask = new long[count * (len + steps)];
        long[] positions = new long[count * steps];
        for (int c = 0; c < count; c++) {
            int[] cand = candidates.get(c);
            Arrays.fill(mask, c * (len + steps), c * (len + steps) + len, 1);
            for (int j = 0; j < steps; j++) {
                boolean real = j < cand.length - 1;
                ids[c * steps + j] = real ? cand[j] : 0;
                mask[c * (len + steps) + len + j] = real ? 1 : 0;
                positions[c * steps + j] = len + j;
            }
        }
        float[] embeds = runner.embed(ids, count, steps);
        int[] rows = new int[count]; // every candidate continues the single prefix row
        try (KvCache shared = prefixCache.selectRows(runner.environment(), rows)) {
            LanguageModelRunner.DecoderOutput out = runner.decode(embeds, count, steps, mask, positions, shared, 0);
            out.present().close();
            for (int c = 0; c < count; c++) {
                int[] cand = candidates.get(c);
                for (int j = 0; j + 1 < cand.length; j++) {
                    logProbs[c][j + 1] = (float) LogitsProcessors.logSoftmaxAt(out.logits(c, j), cand[j + 1]);
                }
            }
        }
    }
}
