package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.nio.LongBuffer;
import java.util.List;

/**
 * A decoder-only {@link LanguageModelRunner} as a {@link PackedDecoder}: a prefill left-pads its prefixes among
 * themselves ({@link PaddedPrefill}); a step masks each row's padding and continues its position ids from its own
 * length. Its caches are {@link KvCache}s.
 */
final class RunnerRows implements PackedDecoder {
    private final LanguageModelRunner runner;
    private final long padTokenId;
    private final float[] padEmbedding;
    private final LanguageModelRunner.StepBuffers buffers = new LanguageModelRunner.StepBuffers();

    RunnerRows(LanguageModelRunner runner, long padTokenId, float[] padEmbedding) {
        this.runner = runner;
        this.padTokenId = padTokenId;
        this.padEmbedding = padEmbedding;
    }

    @Override
    public long padTokenId() {
        return padTokenId;
    }

    @Override
    public int prefilledLength(VisualPrefix prefix) {
        return prefix.length();
    }

    @Override
    public Run prefill(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException {
        PaddedPrefill prefill = PaddedPrefill.build(VisualPrefix.hostRows(prefixes), padEmbedding,
                runner.config().hiddenSize());
        try (KvCache empty = KvCache.empty(runner.environment(), runner.config(), prefill.rows())) {
            LanguageModelRunner.DecoderOutput out = runner.decode(prefill.embeds(), prefill.rows(), prefill.length(),
                    prefill.mask(), prefill.positions(), empty, 1, null, outputs);
            return new Run(out, out.present());
        }
    }

    @Override
    public Run step(long[] ids, Caches past, int[] valid, StepOutputs outputs) throws OrtException {
        try (KvCache cache = (KvCache) past) {
            int length = cache.length();
            LanguageModelRunner.DecoderOutput out = runner.decodeTokens(ids, ids.length, 1,
                    mask -> PackedDecoder.stepMask(mask, valid, length), positions -> positions(positions, valid),
                    cache, 1, buffers, outputs);
            return new Run(out, out.present());
        }
    }

    @Override
    public Caches pack(List<Caches> sources, int[] sourceOf, int[] rows, int[] keep, int length) throws OrtException {
        return KvCache.pack(runner.environment(), sources.stream().map(KvCache.class::cast).toList(), sourceOf, rows,
                keep, length);
    }

    /** The fed token's position is the row's own length so far (0 in a dead slot). */
    private static void positions(LongBuffer out, int[] valid) {
        for (int s = 0; s < valid.length; s++) {
            out.put(s, Math.max(valid[s], 0));
        }
    }
}
