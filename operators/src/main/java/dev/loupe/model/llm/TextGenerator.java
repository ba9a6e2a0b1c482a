package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Generation with Hugging Face {@code generate} options over {@link LanguageModelRunner}: plain greedy decoding
 * goes to {@link GreedyGenerator} (unchanged results), numBeams &gt; 1 to beam search (beam sampling with
 * doSample), the rest (sampling, or greedy with a repetition penalty) to one-beam decoding with logits
 * processors. Every request is decoded as if alone: its result does not depend on its batch mates, and when
 * sampling its draws come from its own seed.
 */
public final class TextGenerator {
    private final LanguageModelRunner runner;
    private final GreedyGenerator greedy;
    private final BeamSearchGenerator beams;
    private final SamplingGenerator sampling;

    public TextGenerator(LanguageModelRunner runner, long padTokenId) {
        this.runner = runner;
        this.greedy = new GreedyGenerator(runner, padTokenId);
        this.beams = new BeamSearchGenerator(runner, padTokenId);
        this.sampling = new SamplingGenerator(runner, padTokenId);
    }

    /**
     * Generates for every request.
     *
     * @param prefixes   per request, the input embeddings [len_i][hidden]
     * @param contextIds per request, the input ids the repetition penalty sees besides the generated ones
     *                   (transformers passes the prompt's input_ids, image placeholders included, to generate)
     * @param config     the shared settings; its seed is ignored in favour of {@code seeds}
     * @param seeds      per request, the seed of its random stream (used only when sampling)
     * @param eosIds     ids that end a sequence
     * @return per request, its numReturnSequences sequences, best first for beam search
     */
    public List<List<GeneratedSequence>> generate(List<float[][]> prefixes, List<int[]> contextIds,
                                                  GenerationConfig config, long[] seeds, int[] eosIds)
            throws AnnotationException {
        try {
            config.validate();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
        if (contextIds.size() != prefixes.size() || seeds.length != prefixes.size()) {
            throw new IllegalArgumentException(prefixes.size() + " prefixes, " + contextIds.size()
                    + " context id lists, " + seeds.length + " seeds");
        }
        int vocab = runner.config().vocabSize();
        for (int id : eosIds) {
            if (id < 0 || id >= vocab) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "eos id " + id + " outside vocabulary");
            }
        }
        for (int[] ids : contextIds) {
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new AnnotationException(ErrorCode.INVALID_REQUEST, "prompt id " + id + " outside vocabulary");
                }
            }
        }
        if (config.isGreedy() && config.repetitionPenalty() == 1.0) {
            List<List<GeneratedSequence>> out = new ArrayList<>();
            for (GeneratedSequence s : greedy.generate(prefixes, config, eosIds, false)) {
                out.add(List.of(s));
            }
            return out;
        }
        PaddedPrefill.validate(prefixes, runner.config().hiddenSize());
        if (prefixes.isEmpty()) {
            return List.of();
        }
        try {
            return config.numBeams() > 1
                    ? beams.generate(prefixes, contextIds, config, seeds, eosIds)
                    : sampling.generate(prefixes, contextIds, config, seeds, eosIds);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }
}
