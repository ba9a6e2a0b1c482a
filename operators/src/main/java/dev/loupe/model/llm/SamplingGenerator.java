package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One-beam decoding with Hugging Face's logits processors, as {@code GenerationMixin._sample}: per step the raw
 * logits go through the repetition penalty (over the prompt's input ids and the generated ids), end-of-sequence
 * suppression below min_new_tokens, and, when sampling, temperature, top-k and top-p; then the argmax (greedy) or
 * a draw from softmax. Each of a request's numReturnSequences sequences is a batch row with its own random
 * stream derived from the request's seed, so its tokens are the same alone and in any batch. Finished sequences
 * leave the batch. Reported log-probs are those of the unmodified distribution, as {@link GreedyGenerator}'s.
 */
final class SamplingGenerator {
    private final LanguageModelRunner runner;
    private final long padTokenId;

    SamplingGenerator(LanguageModelRunner runner, long padTokenId) {
        this.runner = runner;
        this.padTokenId = padTokenId;
    }

    /** The random stream of a request's {@code index}-th returned sequence (index 0 uses the seed itself). */
    static SplittableRandom stream(long seed, int index) {
        return TokenSampler.stream(seed, index);
    }

    List<List<GeneratedSequence>> generate(List<float[][]> prefixes, List<int[]> contextIds, GenerationConfig config,
                                           long[] seeds, int[] eos) throws OrtException {
        int requests = prefixes.size();
        int perRequest = config.numReturnSequences();
        int sequences = requests * perRequest;
        PaddedPrefill prefill = PaddedPrefill.build(prefixes, runner.embed(new long[] {padTokenId}, 1, 1),
                runner.config().hiddenSize());
        int[][] tokens = new int[sequences][config.maxNewTokens()];
        float[][] logProbs = new float[sequences][config.maxNewTokens()];
        int[] counts = new int[sequences];
        double[] sums = new double[sequences];
        SplittableRandom[] streams = new SplittableRandom[sequences];
        int[] requestOf = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            requestOf[s] = s / perRequest;
            streams[s] = stream(seeds[requestOf[s]], s % perRequest);
        }

        int[] live = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            live[s] = s;
        }
        int[] slotOf = new int[sequences]; // the output row of a live sequence
        for (int s = 0; s < sequences; s++) {
            slotOf[s] = requestOf[s]; // the prefill has one row per request
        }
        KvCache cache = KvCache.empty(runner.environment(), runner.config(), requests);
        try {
            LanguageModelRunner.DecoderOutput out = runner.decode(prefill.embeds(), requests, prefill.length(),
                    prefill.mask(), prefill.positions(), cache);
            for (int generated = 1; ; generated++) {
                cache.close();
                cache = out.present();
                int[] next = new int[live.length];
                int[] gather = new int[live.length];
                int liveCount = 0;
                for (int s : live) {
                    int r = requestOf[s];
                    float[] raw = out.lastLogits(slotOf[s]);
                    float[] scores = raw.clone();
                    LogitsProcessors.repetitionPenalty(scores, contextIds.get(r), tokens[s], counts[s],
                            config.repetitionPenalty());
                    if (counts[s] < config.minNewTokens()) {
                        LogitsProcessors.suppress(scores, eos);
                    }
                    int token;
                    if (config.doSample()) {
                        LogitsProcessors.temperature(scores, config.temperature());
                        LogitsProcessors.topK(scores, config.topK());
                        LogitsProcessors.topP(scores, config.topP());
                        token = TokenSampler.sample(scores, streams[s]);
                    } else {
                        token = GreedyGenerator.argmax(scores, new int[0]);
                    }
                    float lp = (float) LogitsProcessors.logSoftmaxAt(raw, token);
                    tokens[s][counts[s]] = token;
                    logProbs[s][counts[s]] = lp;
                    counts[s]++;
                    sums[s] += lp;
                    if (!contains(eos, token) && counts[s] < config.maxNewTokens()) {
                        gather[liveCount] = slotOf[s];
                        next[liveCount++] = s;
                    }
                }
                if (liveCount == 0) {
                    break;
                }
                live = Arrays.copyOf(next, liveCount);
                int[] rows = Arrays.copyOf(gather, liveCount);
                if (!BeamSearchGenerator.isIdentity(rows, cache.batch())) {
                    KvCache selected = cache.selectRows(runner.environment(), rows);
                    cache.close();
                    cache = selected;
                }
                int[] rowOfSlot = new int[liveCount];
                long[] ids = new long[liveCount];
                for (int i = 0; i < liveCount; i++) {
                    int s = live[i];
                    slotOf[s] = i;
                    rowOfSlot[i] = requestOf[s];
                    ids[i] = tokens[s][counts[s] - 1];
                }
                out = runner.decode(runner.embed(ids, liveCount, 1), liveCount, 1, prefill.mask(rowOfSlot, generated),
                        prefill.positions(rowOfSlot, generated), cache);
            }
        } finally {
            cache.close();
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (int r = 0; r < requests; r++) {
            List<GeneratedSequence> own = new ArrayList<>(perRequest);
            for (int j = 0; j < perRequest; j++) {
                int s = r * perRequest + j;
                int n = counts[s];
                own.add(new GeneratedSequence(Arrays.copyOf(tokens[s], n), sums[s], sums[s] / n,
                        Arrays.copyOf(logProbs[s], n), null));
            }
            results.add(own);
        }
        return results;
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
