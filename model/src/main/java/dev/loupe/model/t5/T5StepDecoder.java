package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.OutputState;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.llm.StepOutputs;
import dev.loupe.model.llm.VisualPrefix;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A T5 encoder-decoder ({@link T5Runner}) as a {@link StepDecoder}, as transformers' {@code generate} runs T5: the
 * input embeddings are the encoder's, right-padded under their mask (relative positions make padding on the right
 * harmless, so a row's result does not depend on its batch); the encoder runs once, then the decoder starts from
 * {@code decoder_start_token_id}, whose logits the first state holds. Between steps the cross-attention keys/values
 * and the self-attention cache stay ONNX Runtime tensors: rows are gathered only when they change (finished rows
 * leave, beams reorder), and the cross-attention tensors only when the set of encoder rows changes. The repetition
 * penalty's context is the decoder start token, as transformers' for encoder-decoder models. Owns the runner.
 */
public final class T5StepDecoder implements StepDecoder {
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

    @Override
    public DecodingState startFrom(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException {
        List<float[][]> inputs = new java.util.ArrayList<>(prefixes.size());
        for (VisualPrefix p : prefixes) {
            inputs.add(p.rows());
        }
        int d = runner.config().dModel();
        int batch = inputs.size();
        int longest = inputs.stream().mapToInt(rows -> rows.length).max().orElseThrow();
        float[] embeds = new float[batch * longest * d];
        long[] mask = new long[batch * longest];
        int[] encoderRow = new int[batch];
        for (int r = 0; r < batch; r++) {
            float[][] rows = inputs.get(r);
            for (int j = 0; j < rows.length; j++) {
                System.arraycopy(rows[j], 0, embeds, (r * longest + j) * d, d);
                mask[r * longest + j] = 1;
            }
            encoderRow[r] = r;
        }
        Encoder encoder = new Encoder(runner.encode(embeds, batch, longest, mask), mask, longest);
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
