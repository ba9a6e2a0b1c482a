package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batched greedy decoding over {@link LanguageModelRunner}, following Hugging Face {@code generate} for one beam
 * and no sampling. Rows are prefixes of input embeddings (image embeddings spliced before prompt embeddings) of
 * different lengths; they are left-padded with the pad token's embedding, masked, and given position ids from the
 * cumulative mask, so a row's result does not depend on its batch mates. A row stops at an end-of-sequence id
 * (kept in its ids) or at max_new_tokens; finished rows leave the batch (their KV-cache rows are dropped), so
 * they cost no further decode work. min_new_tokens suppresses end-of-sequence ids until reached; reported
 * log-probs are those of the unmodified distribution, as in Hugging Face beam scores.
 */
public final class GreedyGenerator {
    private final LanguageModelRunner runner;
    private final long padTokenId;

    public GreedyGenerator(LanguageModelRunner runner, long padTokenId) {
        if (padTokenId < 0 || padTokenId >= runner.config().vocabSize()) {
            throw new IllegalArgumentException("pad token id " + padTokenId + " outside vocabulary");
        }
        this.runner = runner;
        this.padTokenId = padTokenId;
    }

    /**
     * Generates greedily for every row.
     *
     * @param prefixes         per row, the input embeddings [len_i][hidden] (len_i >= 1)
     * @param config           only maxNewTokens and minNewTokens are used; must be greedy
     * @param eosTokenIds      ids that end a row (none: rows run to maxNewTokens)
     * @param keepFirstLogits  whether to return each row's first-step logits
     * @return one result per row, in input order
     */
    public List<GeneratedSequence> generate(List<float[][]> prefixes, GenerationConfig config, int[] eosTokenIds,
                                            boolean keepFirstLogits) throws AnnotationException {
        try {
            config.validate();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
        if (!config.isGreedy()) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "GreedyGenerator needs numBeams 1 and no sampling");
        }
        int hidden = runner.config().hiddenSize();
        int vocab = runner.config().vocabSize();
        for (int r = 0; r < prefixes.size(); r++) {
            float[][] p = prefixes.get(r);
            if (p == null || p.length == 0) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r + " has an empty prefix");
            }
            for (float[] e : p) {
                if (e == null || e.length != hidden) {
                    throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r
                            + " has an embedding of width " + (e == null ? 0 : e.length) + ", expected " + hidden);
                }
            }
        }
        for (int id : eosTokenIds) {
            if (id < 0 || id >= vocab) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "eos id " + id + " outside vocabulary");
            }
        }
        if (prefixes.isEmpty()) {
            return List.of();
        }
        try {
            return run(prefixes, config, eosTokenIds, keepFirstLogits);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }

    private List<GeneratedSequence> run(List<float[][]> prefixes, GenerationConfig config, int[] eos,
                                        boolean keepFirstLogits) throws OrtException {
        int rows = prefixes.size();
        int hidden = runner.config().hiddenSize();
        int maxLen = prefixes.stream().mapToInt(p -> p.length).max().orElseThrow();
        float[] padEmbedding = runner.embed(new long[] {padTokenId}, 1, 1);

        // Left-padded prefill inputs.
        float[] embeds = new float[rows * maxLen * hidden];
        long[] mask = new long[rows * maxLen];
        long[] positions = new long[rows * maxLen];
        int[] nextPosition = new int[rows];
        for (int r = 0; r < rows; r++) {
            float[][] p = prefixes.get(r);
            int pad = maxLen - p.length;
            for (int t = 0; t < maxLen; t++) {
                int at = r * maxLen + t;
                float[] src = t < pad ? padEmbedding : p[t - pad];
                System.arraycopy(src, 0, embeds, at * hidden, hidden);
                mask[at] = t < pad ? 0 : 1;
                positions[at] = t < pad ? 1 : t - pad; // cumsum(mask) - 1; masked positions get 1 like HF
            }
            nextPosition[r] = p.length;
        }

        List<List<Integer>> ids = new ArrayList<>();
        List<List<Float>> logProbs = new ArrayList<>();
        double[] sums = new double[rows];
        float[][] firstLogits = new float[rows][];
        for (int r = 0; r < rows; r++) {
            ids.add(new ArrayList<>());
            logProbs.add(new ArrayList<>());
        }

        int[] live = new int[rows]; // live[i] = original row of batch slot i
        for (int r = 0; r < rows; r++) {
            live[r] = r;
        }
        int seq = maxLen;
        int total = maxLen;
        KvCache cache = KvCache.empty(runner.environment(), runner.config(), rows);
        try {
            for (int step = 0; ; step++) {
                LanguageModelRunner.DecoderOutput out = runner.decode(embeds, live.length, seq, mask, positions, cache);
                cache.close();
                cache = out.present();
                boolean suppressEos = step < config.minNewTokens();
                int[] stillLive = new int[live.length];
                int[] keepSlots = new int[live.length];
                int liveCount = 0;
                for (int slot = 0; slot < live.length; slot++) {
                    int r = live[slot];
                    float[] logits = out.lastLogits(slot);
                    if (step == 0 && keepFirstLogits) {
                        firstLogits[r] = logits;
                    }
                    int token = argmax(logits, suppressEos ? eos : new int[0]);
                    float lp = (float) LogitsProcessors.logSoftmaxAt(logits, token);
                    ids.get(r).add(token);
                    logProbs.get(r).add(lp);
                    sums[r] += lp;
                    boolean done = contains(eos, token) || step + 1 >= config.maxNewTokens();
                    if (!done) {
                        stillLive[liveCount] = r;
                        keepSlots[liveCount] = slot;
                        liveCount++;
                    }
                }
                if (liveCount == 0) {
                    break;
                }
                int oldTotal = total;
                if (liveCount < live.length) {
                    KvCache selected = cache.selectRows(runner.environment(), Arrays.copyOf(keepSlots, liveCount));
                    cache.close();
                    cache = selected;
                }
                // Next step: one new token per live row; the mask grows by one attended column.
                total = oldTotal + 1;
                long[] nextMask = new long[liveCount * total];
                long[] nextIds = new long[liveCount];
                long[] nextPositions = new long[liveCount];
                for (int i = 0; i < liveCount; i++) {
                    System.arraycopy(mask, keepSlots[i] * oldTotal, nextMask, i * total, oldTotal);
                    nextMask[i * total + oldTotal] = 1;
                    int r = stillLive[i];
                    nextIds[i] = ids.get(r).get(ids.get(r).size() - 1);
                    nextPositions[i] = nextPosition[r]++;
                }
                mask = nextMask;
                positions = nextPositions;
                live = Arrays.copyOf(stillLive, liveCount);
                embeds = runner.embed(nextIds, liveCount, 1);
                seq = 1;
            }
        } finally {
            cache.close();
        }

        List<GeneratedSequence> results = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            int[] tokenIds = ids.get(r).stream().mapToInt(Integer::intValue).toArray();
            float[] lps = new float[tokenIds.length];
            for (int i = 0; i < lps.length; i++) {
                lps[i] = logProbs.get(r).get(i);
            }
            results.add(new GeneratedSequence(tokenIds, sums[r], sums[r] / tokenIds.length, lps, firstLogits[r]));
        }
        return results;
    }

    /** The first index of the largest logit (torch.argmax), skipping {@code excluded} ids. */
    static int argmax(float[] logits, int[] excluded) {
        int best = -1;
        for (int i = 0; i < logits.length; i++) {
            if (contains(excluded, i)) {
                continue;
            }
            if (best < 0 || logits[i] > logits[best]) {
                best = i;
            }
        }
        if (best < 0) {
            throw new IllegalStateException("every token is excluded");
        }
        return best;
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
