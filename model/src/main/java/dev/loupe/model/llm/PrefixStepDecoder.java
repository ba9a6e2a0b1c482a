package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import java.util.List;

/**
 * A decoder-only language model ({@link LanguageModelRunner}) as a {@link StepDecoder}: the inputs are prefixes,
 * left-padded with the pad token's embedding and positioned from the cumulative mask ({@link PaddedPrefill}), so a
 * row's result does not depend on its batch; each state keeps its KV cache in ONNX Runtime memory. Owns the runner.
 */
public final class PrefixStepDecoder implements ContinuousDecoder {
    private final LanguageModelRunner runner;
    private final long padTokenId;

    public PrefixStepDecoder(LanguageModelRunner runner, long padTokenId) {
        if (padTokenId < 0 || padTokenId >= runner.config().vocabSize()) {
            throw new IllegalArgumentException("pad token id " + padTokenId + " outside vocabulary");
        }
        this.runner = runner;
        this.padTokenId = padTokenId;
    }

    public LanguageModelRunner runner() {
        return runner;
    }

    /** The token whose embedding left-pads shorter prefixes. */
    @Override
    public long padTokenId() {
        return padTokenId;
    }

    @Override
    public <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits, GenerationClock clock)
            throws OrtException {
        return new ContinuousBatch<>(runner, padTokenId, eos, keepFirstLogits, clock);
    }

    @Override
    public int vocabSize() {
        return runner.config().vocabSize();
    }

    @Override
    public int inputWidth() {
        return runner.config().hiddenSize();
    }

    @Override
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        return runner.embed(ids, batch, seq);
    }

    @Override
    public int[] penaltyContext(int[] promptIds) {
        return promptIds;
    }

    @Override
    public boolean feedsSequences() {
        return runner.supportsAllPositions();
    }

    @Override
    public boolean offersChoices() {
        return runner.offersChoices();
    }

    @Override
    public DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException {
        return startFrom(prefixes, outputs, SlotState.INITIAL_NEW_POSITIONS);
    }

    @Override
    public DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs, int newTokens)
            throws OrtException {
        if (runner.sharedBufferCache()) {
            return SlotState.start(new SharedBufferDecoder(runner), prefixes, runner.embed(new long[] {padTokenId}, 1, 1),
                    outputs, newTokens);
        }
        List<float[][]> inputs = VisualPrefix.hostRows(prefixes);
        PaddedPrefill prefill = PaddedPrefill.build(inputs, runner.embed(new long[] {padTokenId}, 1, 1),
                runner.config().hiddenSize());
        int[] rowOfSlot = new int[prefill.rows()];
        for (int r = 0; r < rowOfSlot.length; r++) {
            rowOfSlot[r] = r;
        }
        LanguageModelRunner.StepBuffers buffers = new LanguageModelRunner.StepBuffers();
        try (KvCache empty = KvCache.empty(runner.environment(), runner.config(), prefill.rows())) {
            LanguageModelRunner.DecoderOutput out = runner.decode(prefill.embeds(), prefill.rows(), prefill.length(),
                    prefill.mask(), prefill.positions(), empty, runner.allPositionLogits() ? 0 : 1, buffers,
                    outputs);
            return new State(prefill, buffers, rowOfSlot, 0, out);
        }
    }

    @Override
    public void close() throws OrtException {
        runner.close();
    }

    /**
     * Slots over the prefill's rows; {@code fed} tokens fed to every slot since the prefill. The states of one
     * generation share their step buffers: a state's logits stay valid until {@link #next} (after which the state is
     * used up anyway).
     */
    private final class State extends OutputState {
        private final PaddedPrefill prefill;
        private final LanguageModelRunner.StepBuffers buffers;
        private final int[] rowOfSlot;
        private final int fed;

        State(PaddedPrefill prefill, LanguageModelRunner.StepBuffers buffers, int[] rowOfSlot, int fed,
              LanguageModelRunner.DecoderOutput out) {
            super(out);
            this.prefill = prefill;
            this.buffers = buffers;
            this.rowOfSlot = rowOfSlot;
            this.fed = fed;
        }

        @Override
        public DecodingState next(int[] from, long[] tokens, int seq, StepOutputs outputs) throws OrtException {
            int n = from.length;
            int[] rows = new int[n];
            for (int i = 0; i < n; i++) {
                rows[i] = rowOfSlot[from[i]];
            }
            KvCache past = takeCache();
            try {
                if (!DecodingState.isIdentity(from, past.batch())) {
                    KvCache selected = past.selectRows(runner.environment(), from);
                    past.close();
                    past = selected;
                }
                LanguageModelRunner.DecoderOutput next = runner.decodeTokens(tokens, n, seq,
                        mask -> prefill.mask(rows, fed + seq, mask), ids -> prefill.positions(rows, fed, seq, ids),
                        past, seq == 1 ? 1 : 0, buffers, outputs);
                return new State(prefill, buffers, rows, fed + seq, next);
            } finally {
                past.close();
            }
        }
    }
}
