package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.PackedDecoder;
import dev.loupe.model.llm.StepOutputs;
import dev.loupe.model.llm.VisualPrefix;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A T5 encoder-decoder's rows in a continuous batch ({@link dev.loupe.model.llm.ContinuousBatch}): a prefill runs
 * the joining rows' encoder, right-padded under their mask as in a static batch, and the decoder's first step from
 * the start token; a step feeds one token per row under a self-attention mask that hides the left padding of rows
 * that joined at other steps (the relative position bias depends on key minus query column only, so a row's bias
 * is its own). Each row's cross-attention keys/values and encoder mask travel with its self-attention cache and are
 * packed with it, the row's encoder columns right-aligned after masked padding: cross-attention has no position
 * bias, so where they sit does not change what the row attends to. Needs a decoder graph with
 * {@value T5Graphs#DECODER_ATTENTION_MASK} ({@link T5Runner#masksSelfAttention()}).
 */
public final class T5Rows implements PackedDecoder {
    private final T5Runner runner;

    public T5Rows(T5Runner runner) {
        if (!runner.masksSelfAttention()) {
            throw new IllegalArgumentException("this T5 decoder graph has no " + T5Graphs.DECODER_ATTENTION_MASK
                    + " input (a package written before it): convert the checkpoint again for continuous batching");
        }
        this.runner = runner;
    }

    @Override
    public long padTokenId() {
        return runner.config().decoderStartTokenId();
    }

    /** The start token's position. */
    @Override
    public int prefilledLength(VisualPrefix prefix) {
        return 1;
    }

    @Override
    public Run prefill(List<VisualPrefix> prefixes, StepOutputs outputs) throws OrtException {
        EncoderBatch in = EncoderBatch.rightPadded(prefixes, runner.config().dModel());
        int n = prefixes.size();
        Rows rows = new Rows(runner.encode(in.embeds(), n, in.length(), in.mask()), in.mask(), in.length(),
                new int[n], in.lengths());
        try {
            long[] start = new long[n];
            Arrays.fill(start, runner.config().decoderStartTokenId());
            try (KvCache empty = runner.emptyCache(n)) {
                LanguageModelRunner.DecoderOutput out = runner.decode(start, 1, rows.maskTensor, rows.cross, empty,
                        null, outputs);
                rows.self = out.present();
                return new Run(out, rows);
            }
        } catch (OrtException | RuntimeException e) {
            rows.close();
            throw e;
        }
    }

    @Override
    public Run step(long[] ids, Caches past, int[] valid, StepOutputs outputs) throws OrtException {
        try (Rows rows = (Rows) past) {
            int length = rows.self.length();
            long[] mask = new long[ids.length * (length + 1)];
            PackedDecoder.stepMask(LongBuffer.wrap(mask), valid, length);
            LanguageModelRunner.DecoderOutput out = runner.decode(ids, 1, rows.maskTensor, rows.cross, rows.self,
                    mask, outputs);
            return new Run(out, rows.continuedBy(out.present()));
        }
    }

    @Override
    public Caches pack(List<Caches> sources, int[] sourceOf, int[] slots, int[] keep, int length)
            throws OrtException {
        int n = slots.length;
        List<KvCache> self = new ArrayList<>(sources.size());
        List<KvCache> cross = new ArrayList<>(sources.size());
        for (Caches c : sources) {
            self.add(((Rows) c).self);
            cross.add(((Rows) c).cross);
        }
        int[] crossFrom = new int[n];
        int[] crossKeep = new int[n];
        int encoderLength = 0;
        for (int i = 0; i < n; i++) {
            Rows source = (Rows) sources.get(sourceOf[i]);
            crossFrom[i] = source.encoderFrom[slots[i]];
            crossKeep[i] = source.encoderLengths[slots[i]];
            encoderLength = Math.max(encoderLength, crossKeep[i]);
        }
        long[] mask = new long[n * encoderLength];
        int[] from = new int[n];
        for (int i = 0; i < n; i++) {
            from[i] = encoderLength - crossKeep[i];
            Arrays.fill(mask, i * encoderLength + from[i], (i + 1) * encoderLength, 1L);
        }
        KvCache packedSelf = KvCache.pack(runner.environment(), self, sourceOf, slots, keep, length);
        try {
            Rows rows = new Rows(KvCache.pack(runner.environment(), cross, sourceOf, slots, crossFrom, crossKeep,
                    encoderLength), mask, encoderLength, from, crossKeep);
            rows.self = packedSelf;
            return rows;
        } catch (OrtException | RuntimeException e) {
            packedSelf.close();
            throw e;
        }
    }

    /**
     * Rows' caches: the self-attention cache, and the encoder side the decoder reads per row (its cross-attention
     * keys/values, its mask, and where each row's encoder columns are).
     */
    private final class Rows implements Caches {
        KvCache self;
        KvCache cross;
        final OnnxTensor maskTensor;
        final int[] encoderFrom;
        final int[] encoderLengths;

        /** Takes {@code cross} (closed here if this fails); {@code mask} is flat [rows, encoderLength]. */
        Rows(KvCache cross, long[] mask, int encoderLength, int[] encoderFrom, int[] encoderLengths)
                throws OrtException {
            this.cross = cross;
            this.encoderFrom = encoderFrom;
            this.encoderLengths = encoderLengths;
            try {
                this.maskTensor = OnnxTensor.createTensor(runner.environment(), LongBuffer.wrap(mask),
                        new long[] {encoderFrom.length, encoderLength});
            } catch (OrtException | RuntimeException e) {
                cross.close();
                throw e;
            }
        }

        private Rows(Rows encoderSide, KvCache self) {
            this.self = self;
            this.cross = encoderSide.cross;
            this.maskTensor = encoderSide.maskTensor;
            this.encoderFrom = encoderSide.encoderFrom;
            this.encoderLengths = encoderSide.encoderLengths;
        }

        /** The same rows after a step, with its cache: the encoder side moves to them (closing this leaves it). */
        Rows continuedBy(KvCache present) {
            Rows next = new Rows(this, present);
            cross = null;
            return next;
        }

        @Override
        public int batch() {
            return encoderFrom.length;
        }

        @Override
        public int length() {
            return self.length();
        }

        @Override
        public void close() {
            if (self != null) {
                self.close();
                self = null;
            }
            if (cross != null) {
                maskTensor.close();
                cross.close();
                cross = null;
            }
        }
    }
}
