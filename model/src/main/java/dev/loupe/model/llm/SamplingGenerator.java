package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One-beam decoding with Hugging Face's logits processors over any {@link StepDecoder}, as
 * {@code GenerationMixin._sample}: per step each row's token comes from {@link TokenPicker}, or, where the decoder
 * offers them and the settings allow it ({@link TokenChoices}), from the row's top choices without its logits.
 * Each of a request's numReturnSequences sequences is a batch row with its own random stream derived from the
 * request's seed, so its tokens are the same alone and in any batch. Finished sequences leave the batch. Reported
 * log-probs are those of the unmodified distribution.
 */
final class SamplingGenerator {
    private final StepDecoder decoder;

    SamplingGenerator(StepDecoder decoder) {
        this.decoder = decoder;
    }

    /** The random stream of a request's {@code index}-th returned sequence (index 0 uses the seed itself). */
    static SplittableRandom stream(long seed, int index) {
        return TokenSampler.stream(seed, index);
    }

    /**
     * @param keepFirstLogits whether each sequence keeps its first step's raw logits
     */
    List<List<GeneratedSequence>> generate(List<VisualPrefix> inputs, List<int[]> contextIds, GenerationConfig config,
                                           long[] seeds, int[] eos, boolean keepFirstLogits) throws OrtException {
        int requests = inputs.size();
        int perRequest = config.numReturnSequences();
        int sequences = requests * perRequest;
        int[][] tokens = new int[sequences][config.maxNewTokens()];
        float[][] logProbs = new float[sequences][config.maxNewTokens()];
        float[][] firstLogits = new float[sequences][];
        int[] counts = new int[sequences];
        double[] sums = new double[sequences];
        SplittableRandom[] streams = new SplittableRandom[sequences];
        int[] requestOf = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            requestOf[s] = s / perRequest;
            streams[s] = stream(seeds[requestOf[s]], s % perRequest);
        }

        int[] live = new int[sequences];
        int[] slotOf = new int[sequences]; // the state row of a live sequence
        for (int s = 0; s < sequences; s++) {
            live[s] = s;
            slotOf[s] = requestOf[s]; // the first state has one row per request
        }
        // a row's raw logits (or its top choices), reused from row to row and step to step
        float[] raw = new float[decoder.vocabSize()];
        TokenPicker picker = new TokenPicker(decoder.vocabSize());
        int choices = decoder.offersChoices() ? TokenChoices.needed(config, eos.length, decoder.vocabSize()) : 0;
        int[] choiceIds = new int[choices];
        float[] choiceLogProbs = new float[choices];
        StepOutputs steps = choices == 0 ? StepOutputs.LOGITS : StepOutputs.choices(choices);
        DecodingState state = decoder.startFrom(inputs, TokenChoices.outputs(keepFirstLogits, choices),
                config.maxNewTokens());
        try {
            while (true) {
                int[] next = new int[live.length];
                int[] gather = new int[live.length];
                int liveCount = 0;
                for (int s : live) {
                    int r = requestOf[s];
                    if (keepFirstLogits && counts[s] == 0) {
                        firstLogits[s] = state.lastLogits(slotOf[s]);
                    }
                    int token;
                    float lp;
                    if (choices > 0) {
                        state.lastChoices(slotOf[s], choiceIds, choiceLogProbs);
                        int j = TokenChoices.greedy(choiceIds, choices, counts[s], config, eos);
                        token = choiceIds[j];
                        lp = choiceLogProbs[j];
                    } else {
                        state.lastLogits(slotOf[s], raw);
                        token = picker.pick(raw, contextIds.get(r), tokens[s], counts[s], config, eos, streams[s]);
                        lp = (float) LogitsProcessors.logSoftmaxAt(raw, token);
                    }
                    tokens[s][counts[s]] = token;
                    logProbs[s][counts[s]] = lp;
                    counts[s]++;
                    sums[s] += lp;
                    if (!LogitsProcessors.contains(eos, token) && counts[s] < config.maxNewTokens()) {
                        gather[liveCount] = slotOf[s];
                        next[liveCount++] = s;
                    }
                }
                if (liveCount == 0) {
                    break;
                }
                live = Arrays.copyOf(next, liveCount);
                long[] ids = new long[liveCount];
                for (int i = 0; i < liveCount; i++) {
                    int s = live[i];
                    slotOf[s] = i;
                    ids[i] = tokens[s][counts[s] - 1];
                }
                state = state.next(Arrays.copyOf(gather, liveCount), ids, 1, steps);
            }
        } finally {
            state.close();
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (int r = 0; r < requests; r++) {
            List<GeneratedSequence> own = new ArrayList<>(perRequest);
            for (int j = 0; j < perRequest; j++) {
                int s = r * perRequest + j;
                int n = counts[s];
                own.add(new GeneratedSequence(Arrays.copyOf(tokens[s], n), sums[s], sums[s] / n,
                        Arrays.copyOf(logProbs[s], n), firstLogits[s]));
            }
            results.add(own);
        }
        return results;
    }
}
