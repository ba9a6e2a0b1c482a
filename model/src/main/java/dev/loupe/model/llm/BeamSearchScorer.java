package dev.loupe.model.llm;

import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationConfig.EarlyStopping;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One request's beam search, step by step, as transformers 4.57 {@code GenerationMixin._beam_search} does it for
 * one batch entry: log_softmax per beam, logits processors on the log-probs, scores summed per beam; the top
 * {@code max(2, 1 + #eos) * numBeams} (beam, token) candidates (or as many drawn when sampling); the best
 * {@code numBeams} candidates not hitting a stop (an end-of-sequence id or max_new_tokens) keep running; a
 * candidate that hits a stop joins the finished hypotheses only when it ranks among the top {@code numBeams},
 * scored {@code sum_logprobs / generated_len ** length_penalty} (generated_len counts the new tokens, end id
 * included); the request is done when no running beam can beat the worst finished one (early_stopping false:
 * judged at the current length, "never": at max length), when all hypotheses are finished and early_stopping is
 * true, or when every candidate hit a stop. Knows nothing about the model: the caller feeds each running beam's
 * logits and reorders its KV cache by {@link #step}'s answer. Float32 arithmetic throughout, as torch.
 */
public final class BeamSearchScorer {
    private static final float NEG = -1.0e9f;

    private final int numBeams;
    private final int vocab;
    private final int keep;
    private final int[] eos;
    private final GenerationConfig config;
    private final int[] contextIds;
    private final SplittableRandom random;

    private float[] runningScores;
    private int[][] runningTokens;
    private float[][] runningStepScores;
    private float[] finishedScores;
    private int[][] finishedTokens;
    private float[][] finishedStepScores;
    private boolean[] finished;
    private boolean improvementPossible = true;
    private boolean done;
    private int generated;

    /**
     * @param contextIds ids the repetition penalty sees besides the generated ones (the prompt's input ids)
     * @param random     this request's stream, used only when sampling
     */
    public BeamSearchScorer(GenerationConfig config, int vocab, int[] eos, int[] contextIds, SplittableRandom random) {
        this.numBeams = config.numBeams();
        this.vocab = vocab;
        this.keep = candidates(numBeams, eos.length);
        this.eos = eos.clone();
        this.config = config;
        this.contextIds = contextIds.clone();
        this.random = random;
        runningScores = new float[numBeams];
        Arrays.fill(runningScores, 1, numBeams, NEG);
        runningTokens = new int[numBeams][0];
        runningStepScores = new float[numBeams][0];
        finishedScores = new float[numBeams];
        Arrays.fill(finishedScores, NEG);
        finishedTokens = new int[numBeams][0];
        finishedStepScores = new float[numBeams][0];
        finished = new boolean[numBeams];
    }

    /** How many (beam, token) candidates a step ranks: {@code max(2, 1 + #eos) * numBeams}, as transformers. */
    static int candidates(int numBeams, int eosCount) {
        return Math.max(2, 1 + eosCount) * numBeams;
    }

    public int numBeams() {
        return numBeams;
    }

    public boolean isDone() {
        return done;
    }

    /** The last token of each running beam (the next step's input), in beam order. */
    public int[] lastTokens() {
        int[] out = new int[numBeams];
        for (int b = 0; b < numBeams; b++) {
            out[b] = runningTokens[b][runningTokens[b].length - 1];
        }
        return out;
    }

    /**
     * Advances by one token.
     *
     * @param logits the raw logits of each running beam, [numBeams][vocab] (on the first step every beam's row is
     *               the prompt's last-position logits)
     * @return for each new running beam, the index of the beam it continues (reorder the KV cache by it)
     */
    public int[] step(float[][] logits) {
        checkStep(logits.length);
        float[][] scores = new float[numBeams][];
        float[] accumulated = new float[numBeams * vocab];
        for (int b = 0; b < numBeams; b++) {
            float[] lp = LogitsProcessors.logSoftmax(logits[b]);
            LogitsProcessors.repetitionPenalty(lp, contextIds, runningTokens[b], runningTokens[b].length,
                    config.repetitionPenalty());
            if (generated < config.minNewTokens()) {
                LogitsProcessors.suppress(lp, eos);
            }
            if (config.doSample()) {
                LogitsProcessors.temperature(lp, config.temperature());
                LogitsProcessors.topK(lp, config.topK());
                LogitsProcessors.topP(lp, config.topP());
            }
            scores[b] = lp;
            for (int v = 0; v < vocab; v++) {
                accumulated[b * vocab + v] = lp[v] + runningScores[b];
            }
        }

        // Top candidates over (beam, token).
        int[] cand = config.doSample()
                ? TokenSampler.sampleWithoutReplacement(accumulated, keep, random)
                : topIndices(accumulated, keep);
        int[] candBeams = new int[keep];
        int[] candTokens = new int[keep];
        float[] candScores = new float[keep];
        float[] candStepScores = new float[keep];
        for (int k = 0; k < keep; k++) {
            candBeams[k] = cand[k] / vocab;
            candTokens[k] = cand[k] % vocab;
            candScores[k] = accumulated[cand[k]];
            candStepScores[k] = scores[candBeams[k]][candTokens[k]];
        }
        return advance(candBeams, candTokens, candScores, candStepScores);
    }

    /**
     * Advances by one token from each running beam's top {@code choices} tokens ({@link TokenChoiceHead}) instead
     * of its logits: the same step as {@link #step(float[][])} for settings {@link TokenChoices#needed} serves
     * (no sampling, no repetition penalty), since every candidate that step can rank is among them.
     *
     * @param ids      per running beam, its best tokens, best first (on the first step every beam's are the prompt's)
     * @param logProbs per running beam, log_softmax of the raw logits at {@code ids}
     */
    public int[] step(int[][] ids, float[][] logProbs, int choices) {
        checkStep(ids.length);
        int needed = TokenChoices.needed(config, eos.length, vocab);
        if (needed == 0 || choices < needed) {
            throw new IllegalArgumentException(choices + " choices per beam cannot serve these settings");
        }
        boolean suppress = generated < config.minNewTokens();
        float[] accumulated = new float[numBeams * choices];
        float[] stepScores = new float[numBeams * choices];
        for (int b = 0; b < numBeams; b++) {
            for (int j = 0; j < choices; j++) {
                float lp = suppress && LogitsProcessors.contains(eos, ids[b][j])
                        ? Float.NEGATIVE_INFINITY : logProbs[b][j];
                stepScores[b * choices + j] = lp;
                accumulated[b * choices + j] = lp + runningScores[b];
            }
        }
        int[] cand = topIndices(accumulated, keep);
        int[] candBeams = new int[keep];
        int[] candTokens = new int[keep];
        float[] candScores = new float[keep];
        float[] candStepScores = new float[keep];
        for (int k = 0; k < keep; k++) {
            candBeams[k] = cand[k] / choices;
            candTokens[k] = ids[candBeams[k]][cand[k] % choices];
            candScores[k] = accumulated[cand[k]];
            candStepScores[k] = stepScores[cand[k]];
        }
        return advance(candBeams, candTokens, candScores, candStepScores);
    }

    private void checkStep(int rows) {
        if (done) {
            throw new IllegalStateException("beam search already done");
        }
        if (rows != numBeams) {
            throw new IllegalArgumentException(rows + " rows for " + numBeams + " beams");
        }
    }

    /**
     * The step after ranking: the {@code keep} candidates, best first, with the beam each continues, its token,
     * its accumulated score and its step score.
     */
    private int[] advance(int[] candBeams, int[] candTokens, float[] candScores, float[] candStepScores) {
        boolean[] hits = new boolean[keep];
        boolean allHit = true;
        for (int k = 0; k < keep; k++) {
            hits[k] = LogitsProcessors.contains(eos, candTokens[k]) || generated + 1 >= config.maxNewTokens();
            allHit &= hits[k];
        }

        // Running beams for the next step: the best candidates that did not stop.
        float[] runKey = new float[keep];
        for (int k = 0; k < keep; k++) {
            runKey[k] = candScores[k] + (hits[k] ? NEG : 0f);
        }
        int[] chosen = topIndices(runKey, numBeams);
        int[] source = new int[numBeams];
        float[] nextScores = new float[numBeams];
        int[][] nextTokens = new int[numBeams][];
        float[][] nextStepScores = new float[numBeams][];
        for (int j = 0; j < numBeams; j++) {
            int k = chosen[j];
            source[j] = candBeams[k];
            nextScores[j] = runKey[k];
            nextTokens[j] = append(runningTokens[source[j]], candTokens[k]);
            nextStepScores[j] = append(runningStepScores[source[j]], candStepScores[k]);
        }

        // Finished hypotheses: merge the candidates that stopped within the top numBeams ranks.
        boolean allFinished = all(finished);
        float denominator = (float) Math.pow(generated + 1, config.lengthPenalty());
        int merged = numBeams + keep;
        float[] mergedScores = Arrays.copyOf(finishedScores, merged);
        for (int k = 0; k < keep; k++) {
            boolean justFinished = hits[k] && k < numBeams;
            float s = candScores[k] / denominator;
            s += allFinished && config.earlyStopping() == EarlyStopping.TRUE ? NEG : 0f;
            s += improvementPossible ? 0f : NEG;
            s += justFinished ? 0f : NEG;
            mergedScores[numBeams + k] = s;
        }
        int[] best = topIndices(mergedScores, numBeams);
        float[] newFinishedScores = new float[numBeams];
        int[][] newFinishedTokens = new int[numBeams][];
        float[][] newFinishedStepScores = new float[numBeams][];
        boolean[] newFinished = new boolean[numBeams];
        for (int j = 0; j < numBeams; j++) {
            int m = best[j];
            newFinishedScores[j] = mergedScores[m];
            if (m < numBeams) {
                newFinishedTokens[j] = finishedTokens[m];
                newFinishedStepScores[j] = finishedStepScores[m];
                newFinished[j] = finished[m];
            } else {
                int k = m - numBeams;
                newFinishedTokens[j] = append(runningTokens[candBeams[k]], candTokens[k]);
                newFinishedStepScores[j] = append(runningStepScores[candBeams[k]], candStepScores[k]);
                newFinished[j] = hits[k] && k < numBeams;
            }
        }
        finishedScores = newFinishedScores;
        finishedTokens = newFinishedTokens;
        finishedStepScores = newFinishedStepScores;
        finished = newFinished;
        runningScores = nextScores;
        runningTokens = nextTokens;
        runningStepScores = nextStepScores;
        generated++;

        // Can a running beam still beat the worst finished hypothesis?
        int bestLength = config.earlyStopping() == EarlyStopping.NEVER && config.lengthPenalty() > 0
                ? config.maxNewTokens() : generated;
        float bestPossible = runningScores[0] / (float) Math.pow(bestLength, config.lengthPenalty());
        float worst = Float.POSITIVE_INFINITY;
        for (float s : finishedScores) {
            worst = Math.min(worst, s);
        }
        boolean beatable = false;
        for (int j = 0; j < numBeams; j++) {
            beatable |= bestPossible > (finished[j] ? worst : NEG);
        }
        improvementPossible &= beatable;
        boolean openBeam = !(all(finished) && config.earlyStopping() == EarlyStopping.TRUE);
        done = !(improvementPossible && openBeam && !allHit);
        return source;
    }

    /** The best {@code n} hypotheses, best first (call when {@link #isDone()}). */
    public List<GeneratedSequence> results(int n) {
        if (n > numBeams) {
            throw new IllegalArgumentException("cannot return " + n + " of " + numBeams + " beams");
        }
        List<GeneratedSequence> out = new ArrayList<>(n);
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (float s : finishedStepScores[j]) {
                sum += s;
            }
            out.add(new GeneratedSequence(finishedTokens[j], sum, finishedScores[j], finishedStepScores[j], null));
        }
        return out;
    }

    /** Indices of the {@code n} largest values, largest first; ties go to the lower index. */
    static int[] topIndices(float[] values, int n) {
        // A bounded selection: n is small (a few beams) while values may span beams x vocabulary.
        int[] best = new int[n];
        int size = 0;
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (size == n && !(v > values[best[n - 1]])) {
                continue;
            }
            int at = size < n ? size++ : n - 1;
            while (at > 0 && v > values[best[at - 1]]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        if (size < n) {
            throw new IllegalArgumentException("cannot take " + n + " of " + values.length + " values");
        }
        return best;
    }

    private static int[] append(int[] a, int v) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    private static float[] append(float[] a, float v) {
        float[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    private static boolean all(boolean[] flags) {
        for (boolean f : flags) {
            if (!f) {
                return false;
            }
        }
        return true;
    }


    /**
     * The requests still searching after one decoding step, with, per request, the batch rows its beams continue
     * from ({@code slots}) and the tokens they append ({@code tokens}); shared by the decoder-only and the T5 loops.
     */
    public record Advance(List<Integer> live, List<int[]> slots, List<int[]> tokens) {}

    /**
     * Steps every live request's scorer on its rows of a decoder output. Request {@code live[i]} owns rows
     * {@code i * rowsPerRequest ...}; with one row per request (the first step) every beam reads that row.
     */
    public static Advance advance(BeamSearchScorer[] scorers, int[] live, int beams, int rowsPerRequest,
                                  java.util.function.IntFunction<float[]> lastLogits) {
        return advance(scorers, live, beams, rowsPerRequest, (scorer, rows) -> {
            float[][] logits = new float[beams][];
            for (int b = 0; b < beams; b++) {
                logits[b] = lastLogits.apply(rows[b]);
            }
            return scorer.step(logits);
        });
    }

    /** As {@link #advance(BeamSearchScorer[], int[], int, int, java.util.function.IntFunction)}, on choices. */
    static Advance advanceOnChoices(BeamSearchScorer[] scorers, int[] live, int beams, int rowsPerRequest,
                                    DecodingState state) {
        int choices = state.choiceCount();
        int[][] ids = new int[beams][choices];
        float[][] logProbs = new float[beams][choices];
        return advance(scorers, live, beams, rowsPerRequest, (scorer, rows) -> {
            for (int b = 0; b < beams; b++) {
                state.lastChoices(rows[b], ids[b], logProbs[b]);
            }
            return scorer.step(ids, logProbs, choices);
        });
    }

    /** One scorer's step over the batch rows its beams read (one per beam). */
    private interface BeamStep {
        int[] step(BeamSearchScorer scorer, int[] rows);
    }

    private static Advance advance(BeamSearchScorer[] scorers, int[] live, int beams, int rowsPerRequest,
                                   BeamStep beamStep) {
        List<Integer> stillLive = new java.util.ArrayList<>();
        List<int[]> slots = new java.util.ArrayList<>();
        List<int[]> tokens = new java.util.ArrayList<>();
        int[] rows = new int[beams];
        for (int i = 0; i < live.length; i++) {
            int r = live[i];
            for (int b = 0; b < beams; b++) {
                rows[b] = i * rowsPerRequest + (rowsPerRequest == 1 ? 0 : b);
            }
            int[] source = beamStep.step(scorers[r], rows);
            if (scorers[r].isDone()) {
                continue;
            }
            int[] s = new int[beams];
            for (int b = 0; b < beams; b++) {
                s[b] = i * rowsPerRequest + (rowsPerRequest == 1 ? 0 : source[b]);
            }
            stillLive.add(r);
            slots.add(s);
            tokens.add(scorers[r].lastTokens());
        }
        return new Advance(stillLive, slots, tokens);
    }
}
