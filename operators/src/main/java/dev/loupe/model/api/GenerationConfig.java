package dev.loupe.model.api;

import java.io.Serializable;

/**
 * How to decode: greedy, beam search or sampling, following Hugging Face {@code generate} semantics.
 * Immutable; {@link #validate()} is called at the edge (command line, request decoding).
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
        long seed) implements Serializable {

    public static final GenerationConfig GREEDY = new GenerationConfig(30, 0, 1, 1, 1.0, 1.0, false, 1.0, 1.0, 0, 0L);

    public static GenerationConfig greedy(int maxNewTokens) {
        return GREEDY.withMaxNewTokens(maxNewTokens);
    }

    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(n, minNewTokens, numBeams, numReturnSequences, lengthPenalty, repetitionPenalty,
                doSample, temperature, topP, topK, seed);
    }

    public GenerationConfig withMinNewTokens(int n) {
        return new GenerationConfig(maxNewTokens, n, numBeams, numReturnSequences, lengthPenalty, repetitionPenalty,
                doSample, temperature, topP, topK, seed);
    }

    public GenerationConfig withBeams(int beams, int returnSequences) {
        return new GenerationConfig(maxNewTokens, minNewTokens, beams, returnSequences, lengthPenalty,
                repetitionPenalty, doSample, temperature, topP, topK, seed);
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
        require(doSample || numReturnSequences <= numBeams,
                "numReturnSequences (" + numReturnSequences + ") must not exceed numBeams (" + numBeams + ")");
        require(repetitionPenalty > 0, "repetitionPenalty must be > 0");
        require(temperature > 0, "temperature must be > 0");
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
