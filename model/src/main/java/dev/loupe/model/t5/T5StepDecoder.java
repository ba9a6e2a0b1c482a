package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.loupe.model.llm.ContinuousBatch;
import dev.loupe.model.llm.ContinuousDecoder;
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.llm.GenerationClock;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.OutputState;
import dev.loupe.model.llm.StepOutputs;
import dev.loupe.model.llm.VisualPrefix;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A T5 encoder-decoder ({@link T5Runner}) as a {@link dev.loupe.model.llm.StepDecoder}, as transformers'
 * {@code generate} runs T5: the input embeddings are the encoder's, right-padded under their mask
 * ({@link EncoderBatch}); the encoder runs once, then the decoder starts from {@code decoder_start_token_id}, whose
 * logits the first state holds. Between steps the cross-attention keys/values
 * and the self-attention cache stay ONNX Runtime tensors: rows are gathered only when they change (finished rows
 * leave, beams reorder), and the cross-attention tensors only when the set of encoder rows changes. The repetition
 * penalty's context is the decoder start token, as transformers' for encoder-decoder models. One-beam rows can also
 * join and leave a running batch at step boundaries ({@link #continuousBatch}, {@link T5Rows}) where the decoder
 * graph masks self-attention (packages written before it batch statically). Owns the runner.
 */
public final class T5StepDecoder implements ContinuousDecoder {
    private final T5Runner runner;

    public T5StepDecoder(T5Runner runner) {
        this.runner = runner;
    }

    public T5Runner runner() {
        return runner;
    }

    @Override
    public int vocabSize() {
        return runner.config().vocabSize();
    }

    @Override
    public int inputWidth() {
        return runner.config().dModel();
    }

    @Override
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        return runner.embed(ids, batch, seq);
    }

    @Override
    public int[] penaltyContext(int[] promptIds) {
        return new int[] {runner.config().decoderStartTokenId()};
    }

    @Override
    public boolean feedsSequences() {
        return true;
    }

    @Override
    public boolean offersChoices() {
        return runner.offersChoices();
    }

    /** The decoder start token (T5's pad token): what a slot whose row has left is fed. */
    @Override
    public long padTokenId() {
        return runner.config().decoderStartTokenId();
    }

    @Override
    public boolean batchesContinuously() {
        return runner.masksSelfAttention();
    }

    @Override
    public <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits, GenerationClock clock) {
        return new ContinuousBatch<>(new T5Rows(runner), vocabSize(), inputWidth(), offersChoices(), eos,
                keepFirstLogits, clock);
    }

    @Override
    public DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException {
        EncoderBatch in = EncoderBatch.rightPadded(prefixes, runner.config().dModel());
        int batch = prefixes.size();
        int longest = in.length();
        int[] encoderRow = new int[batch];
        for (int r = 0; r < batch; r++) {
            encoderRow[r] = r;
        }
        Encoder encoder = new Encoder(runner.encode(in.embeds(), batch, longest, in.mask()), in.mask(), longest);
        try {
            long[] start = new long[batch];
            Arrays.fill(start, runner.config().decoderStartTokenId());
            try (KvCache empty = runner.emptyCache(batch)) {
                return new State(encoder, encoderRow, runner.decode(start, 1, encoder.maskTensor, encoder.cross, empty,
                        outputs));
            }
        } catch (OrtException | RuntimeException e) {
            encoder.close();
            throw e;
        }
    }

    @Override
    public void close() throws OrtException {
        runner.close();
    }

    /** The encoder's rows as the decoder attends to them: cross-attention keys/values and the mask, one per slot. */
    private final class Encoder implements AutoCloseable {
        final KvCache cross;
        final long[] mask;
        final int length;
        final OnnxTensor maskTensor;

        Encoder(KvCache cross, long[] mask, int length) throws OrtException {
            this.cross = cross;
            this.mask = mask;
            this.length = length;
            try {
                this.maskTensor = OnnxTensor.createTensor(runner.environment(), LongBuffer.wrap(mask),
                        new long[] {mask.length / length, length});
            } catch (OrtException | RuntimeException e) {
                cross.close();
                throw e;
            }
        }

        /** The slots {@code rows} of this encoder state. */
        Encoder select(int[] rows) throws OrtException {
            long[] selected = new long[rows.length * length];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(mask, rows[i] * length, selected, i * length, length);
            }
            return new Encoder(cross.selectRows(runner.environment(), rows), selected, length);
        }

        @Override
        public void close() {
            maskTensor.close();
            cross.close();
        }
    }

    private final class State extends OutputState {
        private Encoder encoder;
        private final int[] encoderRow; // per slot, the request (encoder row of the first state) it decodes

        State(Encoder encoder, int[] encoderRow, LanguageModelRunner.DecoderOutput out) {
            super(out);
            this.encoder = encoder;
            this.encoderRow = encoderRow;
        }

        @Override
        public DecodingState next(int[] from, long[] tokens, int seq, StepOutputs outputs) throws OrtException {
            int[] rows = new int[from.length];
            for (int i = 0; i < from.length; i++) {
                rows[i] = encoderRow[from[i]];
            }
            KvCache past = takeCache();
            Encoder nextEncoder = encoder;
            encoder = null;
            try {
                if (!DecodingState.isIdentity(from, past.batch())) {
                    KvCache selected = past.selectRows(runner.environment(), from);
                    past.close();
                    past = selected;
                    if (!Arrays.equals(rows, encoderRow)) {
                        Encoder selectedEncoder = nextEncoder.select(from);
                        nextEncoder.close();
                        nextEncoder = selectedEncoder;
                    }
                }
                State next = new State(nextEncoder, rows,
                        runner.decode(tokens, seq, nextEncoder.maskTensor, nextEncoder.cross, past, outputs));
                nextEncoder = null;
                return next;
            } finally {
                past.close();
                if (nextEncoder != null) {
                    nextEncoder.close();
                }
            }
        }

        @Override
        public void close() {
            super.close();
            if (encoder != null) {
                encoder.close();
                encoder = null;
            }
        }
    }
}
