package dev.loupe.model.api;

import java.io.Serializable;
import java.util.Locale;

/**
 * How to decode: greedy, beam search or sampling, following Hugging Face {@code generate} semantics.
 * Immutable; {@link #validate()} is called at the edge (command line, request decoding). {@code topK} 0 means no
 * top-k filtering; {@code seed} seeds this request's own random stream when sampling.
 */
public record GenerationConfig(
        int maxNewTokens,
        int minNewTokens,
        int numBeams,
        int numReturnSequences,
        double lengthPenalty,
        double repetitionPenalty,
        boolean doSample,
        double temperature,
        double topP,
        int topK,
        long seed,
        EarlyStopping earlyStopping) implements Serializable {

    /** Hugging Face's {@code early_stopping}: true, false (its generation default) or "never". */
    public enum EarlyStopping {
        TRUE, FALSE, NEVER;

        /** Parses true / false / never (case-insensitive). */
        public static EarlyStopping parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("early_stopping must be true, false or never, got '" + s + "'");
            }
        }
    }

    /** Greedy, 30 new tokens; the sampling fields carry Hugging Face's defaults (top_k 50) for when sampling is switched on. */
    public static final GenerationConfig GREEDY = new GenerationConfig(30, 0, 1, 1, 1.0, 1.0, false, 1.0, 1.0, 50, 0L);

    public GenerationConfig {
        earlyStopping = earlyStopping == null ? EarlyStopping.FALSE : earlyStopping;
    }

    /** The settings without early_stopping, which then takes Hugging Face's default (false). */
    public GenerationConfig(int maxNewTokens, int minNewTokens, int numBeams, int numReturnSequences,
                            double lengthPenalty, double repetitionPenalty, boolean doSample, double temperature,
                            double topP, int topK, long seed) {
        this(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty, repetitionPenalty, doSample,
                temperature, topP, topK, seed, EarlyStopping.FALSE);
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return GREEDY.withMaxNewTokens(maxNewTokens);
    }

    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(n, minNewTokens, numBeams, numReturnSequences, lengthPenalty, repetitionPenalty,
                doSample, temperature, topP, topK, seed, earlyStopping);
    }

    public GenerationConfig withMinNewTokens(int n) {
        return new GenerationConfig(maxNewTokens, n, numBeams, numReturnSequences, lengthPenalty, repetitionPenalty,
                doSample, temperature, topP, topK, seed, earlyStopping);
    }

    public GenerationConfig withBeams(int beams, int returnSequences) {
        return new GenerationConfig(maxNewTokens, minNewTokens, beams, returnSequences, lengthPenalty,
                repetitionPenalty, doSample, temperature, topP, topK, seed, earlyStopping);
    }

    public GenerationConfig withLengthPenalty(double penalty) {
        return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, penalty,
                repetitionPenalty, doSample, temperature, topP, topK, seed, earlyStopping);
    }

    public GenerationConfig withRepetitionPenalty(double penalty) {
        return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty,
                penalty, doSample, temperature, topP, topK, seed, earlyStopping);
    }

    /** Sampling settings, applied as Hugging Face's warpers in the order temperature, top-k, top-p. */
    public GenerationConfig withSampling(boolean sample, double temp, int k, double p) {
        return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty,
                repetitionPenalty, sample, temp, p, k, seed, earlyStopping);
    }

    public GenerationConfig withSeed(long s) {
        return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty,
                repetitionPenalty, doSample, temperature, topP, topK, s, earlyStopping);
    }

    public GenerationConfig withEarlyStopping(EarlyStopping e) {
        return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty,
                repetitionPenalty, doSample, temperature, topP, topK, seed, e);
    }

    public boolean isGreedy() {
        return numBeams == 1 && !doSample;
    }

    /** @throws IllegalArgumentException naming the first invalid setting */
    public GenerationConfig validate() {
        require(maxNewTokens >= 1, "maxNewTokens must be >= 1, got " + maxNewTokens);
        require(minNewTokens >= 0 && minNewTokens <= maxNewTokens,
                "minNewTokens must be in [0, maxNewTokens], got " + minNewTokens);
        require(numBeams >= 1, "numBeams must be >= 1, got " + numBeams);
        require(numReturnSequences >= 1, "numReturnSequences must be >= 1, got " + numReturnSequences);
        require((doSample && numBeams == 1) || numReturnSequences <= numBeams,
                "numReturnSequences (" + numReturnSequences + ") must not exceed numBeams (" + numBeams + ")");
        require(!Double.isNaN(lengthPenalty) && !Double.isInfinite(lengthPenalty), "lengthPenalty must be finite");
        require(repetitionPenalty > 0 && !Double.isInfinite(repetitionPenalty), "repetitionPenalty must be > 0");
        require(temperature > 0 && !Double.isInfinite(temperature), "temperature must be > 0");
        require(topP > 0 && topP <= 1, "topP must be in (0, 1]");
        require(topK >= 0, "topK must be >= 0");
        return this;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
