package dev.loupe.model.api;

import java.io.Serializable;
import java.util.Locale;

/**
 * How to decode: greedy, beam search or sampling, following Hugging Face {@code generate} semantics.
 * Immutable and always valid: every constructor, {@code with...} copy and {@link Builder#build()} checks the settings
 * and throws an {@link IllegalArgumentException} naming the first bad one, so whoever builds a config (the command
 * line, request validation, a plain-Java caller) gets the same checks and the model never re-checks them. To change
 * several settings that only make sense together (e.g. more return sequences and sampling), use {@link #toBuilder()}.
 * {@code topK} 0 means no top-k filtering; {@code seed} seeds this request's own random stream when sampling.
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

    /** @throws IllegalArgumentException naming the first invalid setting */
    public GenerationConfig {
        earlyStopping = earlyStopping == null ? EarlyStopping.FALSE : earlyStopping;
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
        return toBuilder().maxNewTokens(n).build();
    }

    public GenerationConfig withMinNewTokens(int n) {
        return toBuilder().minNewTokens(n).build();
    }

    public GenerationConfig withBeams(int beams, int returnSequences) {
        return toBuilder().numBeams(beams).numReturnSequences(returnSequences).build();
    }

    public GenerationConfig withLengthPenalty(double penalty) {
        return toBuilder().lengthPenalty(penalty).build();
    }

    public GenerationConfig withRepetitionPenalty(double penalty) {
        return toBuilder().repetitionPenalty(penalty).build();
    }

    /** Sampling settings, applied as Hugging Face's warpers in the order temperature, top-k, top-p. */
    public GenerationConfig withSampling(boolean sample, double temp, int k, double p) {
        return toBuilder().doSample(sample).temperature(temp).topK(k).topP(p).build();
    }

    public GenerationConfig withSeed(long s) {
        return toBuilder().seed(s).build();
    }

    public GenerationConfig withEarlyStopping(EarlyStopping e) {
        return toBuilder().earlyStopping(e).build();
    }

    public boolean isGreedy() {
        return numBeams == 1 && !doSample;
    }

    /** A builder holding these settings; nothing is checked until {@link Builder#build()}. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Sets several settings at once and checks them together in {@link #build()}, in whatever order they were set. */
    public static final class Builder {
        private int maxNewTokens;
        private int minNewTokens;
        private int numBeams;
        private int numReturnSequences;
        private double lengthPenalty;
        private double repetitionPenalty;
        private boolean doSample;
        private double temperature;
        private double topP;
        private int topK;
        private long seed;
        private EarlyStopping earlyStopping;

        private Builder(GenerationConfig c) {
            maxNewTokens = c.maxNewTokens;
            minNewTokens = c.minNewTokens;
            numBeams = c.numBeams;
            numReturnSequences = c.numReturnSequences;
            lengthPenalty = c.lengthPenalty;
            repetitionPenalty = c.repetitionPenalty;
            doSample = c.doSample;
            temperature = c.temperature;
            topP = c.topP;
            topK = c.topK;
            seed = c.seed;
            earlyStopping = c.earlyStopping;
        }

        public Builder maxNewTokens(int n) {
            maxNewTokens = n;
            return this;
        }

        public Builder minNewTokens(int n) {
            minNewTokens = n;
            return this;
        }

        public Builder numBeams(int n) {
            numBeams = n;
            return this;
        }

        public Builder numReturnSequences(int n) {
            numReturnSequences = n;
            return this;
        }

        public Builder lengthPenalty(double penalty) {
            lengthPenalty = penalty;
            return this;
        }

        public Builder repetitionPenalty(double penalty) {
            repetitionPenalty = penalty;
            return this;
        }

        public Builder doSample(boolean sample) {
            doSample = sample;
            return this;
        }

        public Builder temperature(double t) {
            temperature = t;
            return this;
        }

        public Builder topP(double p) {
            topP = p;
            return this;
        }

        public Builder topK(int k) {
            topK = k;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        public Builder earlyStopping(EarlyStopping e) {
            earlyStopping = e;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid setting */
        public GenerationConfig build() {
            return new GenerationConfig(maxNewTokens, minNewTokens, numBeams, numReturnSequences, lengthPenalty,
                    repetitionPenalty, doSample, temperature, topP, topK, seed, earlyStopping);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
