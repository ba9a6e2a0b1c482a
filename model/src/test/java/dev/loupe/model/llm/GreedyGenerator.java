package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Batched greedy decoding of a decoder-only model, following Hugging Face {@code generate} for one beam and no
 * sampling: the one-beam loop of {@link TextGenerator} over a {@link PrefixStepDecoder} (left-padded prefixes,
 * positions from the mask, so a row's result does not depend on its batch mates), optionally keeping each row's
 * first-step logits. A row stops at an end-of-sequence id (kept in its ids) or at max_new_tokens; min_new_tokens
 * suppresses end-of-sequence ids until reached; reported log-probs are those of the unmodified distribution.
 */
public final class GreedyGenerator {
    private final StepDecoder decoder;

    public GreedyGenerator(LanguageModelRunner runner, long padTokenId) {
        this(new PrefixStepDecoder(runner, padTokenId));
    }

    public GreedyGenerator(StepDecoder decoder) {
        this.decoder = decoder;
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
        if (!config.isGreedy()) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "GreedyGenerator needs numBeams 1 and no sampling");
        }
        TextGenerator.check(decoder, VisualPrefix.onHost(prefixes), eosTokenIds);
        if (prefixes.isEmpty()) {
            return List.of();
        }
        GenerationConfig plain = config.withRepetitionPenalty(1.0).withBeams(1, 1);
        long[] seeds = new long[prefixes.size()];
        List<int[]> context = new ArrayList<>();
        for (int r = 0; r < prefixes.size(); r++) {
            context.add(new int[0]);
        }
        List<GeneratedSequence> out = new ArrayList<>(prefixes.size());
        try {
            for (List<GeneratedSequence> own : new SamplingGenerator(decoder)
                    .generate(VisualPrefix.onHost(prefixes), context, plain, seeds, eosTokenIds, keepFirstLogits)) {
                out.add(own.get(0));
            }
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
        return out;
    }

    /** The first index of the largest logit (torch.argmax), skipping {@code excluded} ids. */
    static int argmax(float[] logits, int[] excluded) {
        int best = -1;
        for (int i = 0; i < logits.length; i++) {
            if (LogitsProcessors.contains(excluded, i)) {
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
}
