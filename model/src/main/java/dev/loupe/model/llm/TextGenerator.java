package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import java.util.List;

/**
 * Generation with Hugging Face {@code generate} options over any {@link StepDecoder} (decoder-only or
 * encoder-decoder): numBeams &gt; 1 goes to beam search (beam sampling with doSample), the rest (greedy, sampling,
 * greedy with a repetition penalty) to one-beam decoding with logits processors. Every request is decoded as if
 * alone: its result does not depend on its batch mates, and when sampling its draws come from its own seed.
 */
public final class TextGenerator {
    private final StepDecoder decoder;
    private final BeamSearchGenerator beams;
    private final SamplingGenerator sampling;

    public TextGenerator(StepDecoder decoder) {
        this.decoder = decoder;
        this.beams = new BeamSearchGenerator(decoder);
        this.sampling = new SamplingGenerator(decoder);
    }

    /** Over a decoder-only model whose prefixes are left-padded with {@code padTokenId}'s embedding. */
    public TextGenerator(LanguageModelRunner runner, long padTokenId) {
        this(new PrefixStepDecoder(runner, padTokenId));
    }

    /**
     * Generates for every request.
     *
     * @param inputs     per request, the input embeddings [len_i][inputWidth]
     * @param contextIds per request, the ids the repetition penalty sees besides the generated ones
     *                   ({@link StepDecoder#penaltyContext})
     * @param config     the shared settings; its seed is ignored in favour of {@code seeds}
     * @param seeds      per request, the seed of its random stream (used only when sampling)
     * @param eosIds     ids that end a sequence
     * @return per request, its numReturnSequences sequences, best first for beam search
     */
    public List<List<GeneratedSequence>> generate(List<float[][]> inputs, List<int[]> contextIds,
                                                  GenerationConfig config, long[] seeds, int[] eosIds)
            throws AnnotationException {
        return generateFrom(VisualPrefix.onHost(inputs), contextIds, config, seeds, eosIds);
    }

    /**
     * As {@link #generate} over prefixes as the annotators build them (host rows, or an image part on the device for
     * the device-bound runner); the caller keeps and closes them.
     */
    public List<List<GeneratedSequence>> generateFrom(List<VisualPrefix> inputs, List<int[]> contextIds,
                                                      GenerationConfig config, long[] seeds, int[] eosIds)
            throws AnnotationException {
        if (contextIds.size() != inputs.size() || seeds.length != inputs.size()) {
            throw new IllegalArgumentException(inputs.size() + " inputs, " + contextIds.size()
                    + " context id lists, " + seeds.length + " seeds");
        }
        check(decoder, inputs, eosIds);
        int vocab = decoder.vocabSize();
        for (int[] ids : contextIds) {
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new AnnotationException(ErrorCode.INVALID_REQUEST, "prompt id " + id + " outside vocabulary");
                }
            }
        }
        if (inputs.isEmpty()) {
            return List.of();
        }
        try {
            return config.numBeams() > 1
                    ? beams.generate(inputs, contextIds, config, seeds, eosIds)
                    : sampling.generate(inputs, contextIds, config, seeds, eosIds, false);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "language model failed: " + e.getMessage(), e);
        }
    }

    /**
     * Checks the end ids and that every input is a non-empty list of inputWidth-wide embeddings (the settings checked
     * themselves when the {@link GenerationConfig} was built).
     */
    static void check(StepDecoder decoder, List<VisualPrefix> inputs, int[] eosIds) throws AnnotationException {
        for (int id : eosIds) {
            if (id < 0 || id >= decoder.vocabSize()) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "eos id " + id + " outside vocabulary");
            }
        }
        PaddedPrefill.validate(inputs, decoder.inputWidth());
    }
}
