package dev.loupe.model.t5;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.llm.BeamSearchScorer;
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.llm.LogitsProcessors;
import dev.loupe.model.llm.TokenSampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Encoder-decoder generation over {@link T5Runner}, as transformers' {@code generate} for T5: the encoder runs once
 * over the right-padded batch (relative positions make padding on the right harmless), then the decoder starts
 * from {@code decoder_start_token_id}. One-beam decoding drops finished rows; beam search (and beam sampling) uses
 * the shared {@link BeamSearchScorer}, with the decoder input ids (start token included) as the repetition
 * penalty's context, as transformers does for encoder-decoder models. A row's result never depends on its batch.
 */
public final class T5Generator {
    private final T5Runner runner;

    public T5Generator(T5Runner runner) {
        this.runner = runner;
    }

    /** The encoder state of right-padded rows of input embeddings [len_i][d_model]. */
    public T5State encode(List<float[][]> inputs) throws AnnotationException, OrtException {
        int d = runner.config().dModel();
        int longest = 0;
        for (int r = 0; r < inputs.size(); r++) {
            float[][] rows = inputs.get(r);
            if (rows == null || rows.length == 0) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r + " has an empty encoder input");
            }
            for (float[] e : rows) {
                if (e == null || e.length != d) {
                    throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + r + " has an embedding of width "
                            + (e == null ? 0 : e.length) + ", expected " + d);
                }
            }
            longest = Math.max(longest, rows.length);
        }
        int batch = inputs.size();
        float[] embeds = new float[batch * longest * d];
        long[] mask = new long[batch * longest];
        for (int r = 0; r < batch; r++) {
            float[][] rows = inputs.get(r);
            for (int j = 0; j < rows.length; j++) {
                System.arraycopy(rows[j], 0, embeds, (r * longest + j) * d, d);
                mask[r * longest + j] = 1;
            }
        }
        return runner.encode(embeds, batch, longest, mask);
    }

    /**
     * Per request, its {@code numReturnSequences} sequences (best first for beam search): greedy, sampling and
     * beam search / beam sampling with transformers' logits processors; {@code seeds} give each request its own
     * random stream (used only when sampling).
     */
    public List<List<GeneratedSequence>> generate(List<float[][]> inputs, GenerationConfig config, long[] seeds,
                                                  int[] eos) throws AnnotationException {
        try {
            config.validate();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
        int vocab = runner.config().vocabSize();
        for (int id : eos) {
            if (id < 0 || id >= vocab) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "eos id " + id + " outside vocabulary");
            }
        }
        if (inputs.isEmpty()) {
            return List.of();
        }
        try {
            T5State state = encode(inputs);
            return config.numBeams() > 1 ? beams(state, config, seeds, eos) : oneBeam(state, config, seeds, eos);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }

    /**
     * One-beam decoding as transformers' {@code _sample}: the raw logits go through the repetition penalty (over
     * the decoder ids, start token included), end-of-sequence suppression below min_new_tokens and, when sampling,
     * temperature, top-k and top-p; then the argmax or a draw from the sequence's own stream. Each of a request's
     * numReturnSequences sequences is a row; finished rows leave the batch. Log-probs are those of the raw
     * distribution.
     */
    private List<List<GeneratedSequence>> oneBeam(T5State encoded, GenerationConfig config, long[] seeds, int[] eos)
            throws OrtException {
        int requests = encoded.batch();
        int perRequest = config.numReturnSequences();
        int sequences = requests * perRequest;
        int start = runner.config().decoderStartTokenId();
        int[] context = {start};
        int[][] tokens = new int[sequences][config.maxNewTokens()];
        float[][] logProbs = new float[sequences][config.maxNewTokens()];
        int[] counts = new int[sequences];
        double[] sums = new double[sequences];
        SplittableRandom[] streams = new SplittableRandom[sequences];
        int[] rows = new int[sequences]; // state row of each live sequence; a request's sequences share its encoding
        for (int s = 0; s < sequences; s++) {
            streams[s] = TokenSampler.stream(seeds[s / perRequest], s % perRequest);
            rows[s] = s / perRequest;
        }
        T5State state = perRequest == 1 ? encoded : encoded.selectRows(rows);
        int[] live = new int[sequences];
        long[] next = new long[sequences];
        for (int s = 0; s < sequences; s++) {
            live[s] = s;
            next[s] = start;
        }
        while (live.length > 0) {
            T5Runner.Step out = runner.decode(next, 1, state);
            state = out.state();
            int[] keepSlots = new int[live.length];
            int[] stillLive = new int[live.length];
            long[] nextIds = new long[live.length];
            int count = 0;
            for (int slot = 0; slot < live.length; slot++) {
                int s = live[slot];
                float[] raw = out.lastLogits(slot);
                float[] scores = raw.clone();
                LogitsProcessors.repetitionPenalty(scores, context, tokens[s], counts[s], config.repetitionPenalty());
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
                    token = argmax(scores);
                }
                float lp = (float) LogitsProcessors.logSoftmaxAt(raw, token);
                tokens[s][counts[s]] = token;
                logProbs[s][counts[s]] = lp;
                counts[s]++;
                sums[s] += lp;
                if (!contains(eos, token) && counts[s] < config.maxNewTokens()) {
                    keepSlots[count] = slot;
                    stillLive[count] = s;
                    nextIds[count] = token;
                    count++;
                }
            }
            if (count < live.length && count > 0) {
                state = state.selectRows(Arrays.copyOf(keepSlots, count));
            }
            live = Arrays.copyOf(stillLive, count);
            next = Arrays.copyOf(nextIds, count);
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (int r = 0; r < requests; r++) {
            List<GeneratedSequence> own = new ArrayList<>(perRequest);
            for (int j = 0; j < perRequest; j++) {
                int s = r * perRequest + j;
                int n = counts[s];
                own.add(new GeneratedSequence(Arrays.copyOf(tokens[s], n), sums[s], sums[s] / Math.max(1, n),
                        Arrays.copyOf(logProbs[s], n), null));
            }
            results.add(own);
        }
        return results;
    }

    private List<List<GeneratedSequence>> beams(T5State state, GenerationConfig config, long[] seeds, int[] eos)
            throws OrtException {
        int requests = state.batch();
        int beams = config.numBeams();
        int start = runner.config().decoderStartTokenId();
        BeamSearchScorer[] scorers = new BeamSearchScorer[requests];
        for (int r = 0; r < requests; r++) {
            scorers[r] = new BeamSearchScorer(config, runner.config().vocabSize(), eos, new int[] {start},
                    new SplittableRandom(seeds[r]));
        }
        long[] next = new long[requests];
        Arrays.fill(next, start);
        int[] live = new int[requests];
        for (int r = 0; r < requests; r++) {
            live[r] = r;
        }
        int rowsPerRequest = 1; // the first step runs one row per request; the beams start identical
        T5Runner.Step out = runner.decode(next, 1, state);
        while (true) {
            BeamSearchScorer.Advance step = BeamSearchScorer.advance(scorers, live, beams, rowsPerRequest, out::lastLogits);
            List<Integer> stillLive = step.live();
            List<int[]> slots = step.slots();
            List<int[]> tokens = step.tokens();
            if (stillLive.isEmpty()) {
                break;
            }
            int rows = stillLive.size() * beams;
            int[] gather = new int[rows];
            long[] ids = new long[rows];
            for (int i = 0; i < stillLive.size(); i++) {
                for (int b = 0; b < beams; b++) {
                    gather[i * beams + b] = slots.get(i)[b];
                    ids[i * beams + b] = tokens.get(i)[b];
                }
            }
            live = stillLive.stream().mapToInt(Integer::intValue).toArray();
            rowsPerRequest = beams;
            out = runner.decode(ids, 1, out.state().selectRows(gather));
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (BeamSearchScorer s : scorers) {
            results.add(s.results(config.numReturnSequences()));
        }
        return results;
    }

    /**
     * Teacher-forced scores of candidate continuations of one encoder input: the decoder reads the start token
     * and each candidate (right-padded, harmless under the causal mask) in one batch, and a candidate's score is
     * the log-probabilities of its tokens summed (the caller ends candidates with EOS).
     */
    public double[] scoreCandidates(float[][] input, List<int[]> candidates) throws AnnotationException {
        if (candidates.isEmpty()) {
            return new double[0];
        }
        int longest = candidates.stream().mapToInt(c -> c.length).max().orElse(0);
        if (longest == 0) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty ranking candidate");
        }
        int n = candidates.size();
        long[] ids = new long[n * longest];
        int start = runner.config().decoderStartTokenId();
        for (int c = 0; c < n; c++) {
            int[] cand = candidates.get(c);
            ids[c * longest] = start;
            for (int j = 0; j + 1 < cand.length; j++) {
                ids[c * longest + j + 1] = cand[j];
            }
        }
        try {
            T5State state = encode(List.<float[][]>of(input)).selectRows(new int[n]);
            T5Runner.Step out = runner.decode(ids, longest, state);
            double[] scores = new double[n];
            for (int c = 0; c < n; c++) {
                int[] cand = candidates.get(c);
                for (int j = 0; j < cand.length; j++) {
                    scores[c] += LogitsProcessors.logSoftmaxAt(out.logits(c, j), cand[j]);
                }
            }
            return scores;
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    /** The first index of the largest score (torch.argmax). */
    private static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
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
