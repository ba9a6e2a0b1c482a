package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.StepOutputs;
import dev.loupe.model.llm.TokenChoiceHead;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.OrtTensors;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the three T5 graphs of {@link T5Graphs} in ONNX Runtime: token embedding, encoder (once per request, giving
 * the cross-attention keys/values) and decoder steps over caches that stay ONNX Runtime tensors
 * ({@link KvCache}). Thread-safe: sessions allow concurrent runs and all request state lives in the caller's caches;
 * {@link T5StepDecoder} drives it for generation.
 */
public final class T5Runner implements AutoCloseable {
    private final OrtEnvironment env = OrtSessions.environment();
    private final OrtSession embedding;
    private final OrtSession encoder;
    private final OrtSession decoder;
    private final T5Config config;
    private final boolean choices;
    private final boolean masksSelf;
    private final Set<String> presentNames;

    private T5Runner(OrtSession embedding, OrtSession encoder, OrtSession decoder, T5Config config)
            throws OrtException {
        this.embedding = embedding;
        this.encoder = encoder;
        this.decoder = decoder;
        this.config = config;
        this.choices = TokenChoiceHead.offeredBy(decoder.getOutputNames());
        this.masksSelf = decoder.getInputNames().contains(T5Graphs.DECODER_ATTENTION_MASK);
        Set<String> present = new HashSet<>();
        for (int i = 0; i < config.numDecoderLayers(); i++) {
            present.add(T5Graphs.presentKey(i));
            present.add(T5Graphs.presentValue(i));
        }
        this.presentNames = Set.copyOf(present);
    }

    public static T5Runner open(Path embeddingModel, Path encoderModel, Path decoderModel, T5Config config,
                                RuntimeOptions options) throws IOException {
        List<OrtSession> opened = new ArrayList<>();
        try {
            opened.add(OrtSessions.open(embeddingModel, options));
            opened.add(OrtSessions.open(encoderModel, options));
            opened.add(OrtSessions.open(decoderModel, options));
            return new T5Runner(opened.get(0), opened.get(1), opened.get(2), config);
        } catch (IOException | OrtException | RuntimeException e) {
            for (OrtSession s : opened) {
                try {
                    s.close();
                } catch (OrtException ignored) {
                    // failure path
                }
            }
            throw e instanceof IOException io ? io : new IOException("T5 graphs are not usable: " + e.getMessage(), e);
        }
    }

    public T5Config config() {
        return config;
    }

    /** Whether the decoder graph has the {@link TokenChoiceHead} outputs (packages written before it do not). */
    public boolean offersChoices() {
        return choices;
    }

    /**
     * Whether the decoder graph takes {@value T5Graphs#DECODER_ATTENTION_MASK} (packages written before it do not):
     * continuous batching ({@link T5Rows}) needs it.
     */
    public boolean masksSelfAttention() {
        return masksSelf;
    }

    /** Token embeddings, flat [batch, seq, d_model]. */
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        checkIds(ids, batch * seq);
        try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq});
             OrtSession.Result r = embedding.run(Map.of(T5Graphs.INPUT_IDS, t))) {
            return OrtTensors.floats((OnnxTensor) r.get(0));
        }
    }

    /**
     * Runs the encoder over right-padded rows: the cross-attention keys and values of every decoder layer, kept in
     * ONNX Runtime memory for the decoder steps (the returned cache owns the run's outputs: close it).
     *
     * @param embeds flat [batch, seq, d_model]
     * @param mask   flat [batch, seq], 1 = token, 0 = padding
     */
    public KvCache encode(float[] embeds, int batch, int seq, long[] mask) throws OrtException {
        if (embeds.length != (long) batch * seq * config.dModel() || mask.length != batch * seq) {
            throw new IllegalArgumentException("encoder inputs disagree: batch " + batch + ", seq " + seq);
        }
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                new long[] {batch, seq, config.dModel()});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, seq})) {
            OrtSession.Result r = encoder.run(Map.of(T5Graphs.INPUTS_EMBEDS, e, T5Graphs.ATTENTION_MASK, m));
            return KvCache.fromResult(r, config.numDecoderLayers(), batch, seq, T5Graphs::crossKey,
                    T5Graphs::crossValue);
        }
    }

    /** The encoder's last hidden state, flat [batch, seq, d_model] (for parity checks). */
    public float[] encoderHiddenStates(float[] embeds, int batch, int seq, long[] mask) throws OrtException {
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                new long[] {batch, seq, config.dModel()});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, seq});
             OrtSession.Result r = encoder.run(Map.of(T5Graphs.INPUTS_EMBEDS, e, T5Graphs.ATTENTION_MASK, m))) {
            return OrtTensors.floats((OnnxTensor) r.get(T5Graphs.ENCODER_HIDDEN_STATES).orElseThrow());
        }
    }

    /** An empty self-attention cache for {@code batch} rows, before the first decoder step. */
    public KvCache emptyCache(int batch) throws OrtException {
        return KvCache.empty(env, config.numDecoderLayers(), config.numHeads(), config.dKv(), batch);
    }

    public OrtEnvironment environment() {
        return env;
    }

    /**
     * Decodes {@code ids} (flat [batch, seq]) after the positions in {@code past}: the logits of every position and
     * the self-attention cache after them, attending to the encoder rows whose
     * cross-attention keys/values are {@code cross} (one per decoder row) under {@code encoderMask} [batch, enc_seq].
     * Nothing is copied: the caches go in and come out as ONNX Runtime tensors; the inputs stay the caller's.
     */
    public LanguageModelRunner.DecoderOutput decode(long[] ids, int seq, OnnxTensor encoderMask, KvCache cross,
                                                   KvCache past)
            throws OrtException {
        return decode(ids, seq, encoderMask, cross, past, StepOutputs.LOGITS);
    }

    /**
     * As {@link #decode(long[], int, OnnxTensor, KvCache, KvCache)}, returning {@code outputs} at every position
     * (choices need {@link #offersChoices()}).
     */
    public LanguageModelRunner.DecoderOutput decode(long[] ids, int seq, OnnxTensor encoderMask, KvCache cross,
                                                   KvCache past, StepOutputs outputs)
            throws OrtException {
        return decode(ids, seq, encoderMask, cross, past, null, outputs);
    }

    /**
     * As {@link #decode(long[], int, OnnxTensor, KvCache, KvCache, StepOutputs)}, each row attending only to the
     * cached and fed positions {@code selfMask} allows (flat [batch, past + seq], 1 = allowed; null: all of them,
     * the causal mask aside: the graph then gets one row of ones, which it broadcasts). A mask needs
     * {@link #masksSelfAttention()}.
     */
    public LanguageModelRunner.DecoderOutput decode(long[] ids, int seq, OnnxTensor encoderMask, KvCache cross,
                                                   KvCache past, long[] selfMask, StepOutputs outputs)
            throws OrtException {
        int batch = past.batch();
        checkIds(ids, batch * seq);
        int total = past.length() + seq;
        if (selfMask != null && (!masksSelf || selfMask.length != (long) batch * total)) {
            throw new IllegalArgumentException(masksSelf
                    ? "self-attention mask of " + selfMask.length + " for " + batch + " rows of " + total
                    : "this decoder graph has no self-attention mask (a package written before it)");
        }
        if (cross.batch() != batch) {
            throw new IllegalArgumentException("cross-attention batch " + cross.batch() + " for " + batch + " rows");
        }
        if (outputs.choices() > 0 && !choices) {
            throw new IllegalArgumentException("this decoder graph has no token-choice outputs");
        }
        int k = Math.min(outputs.choices(), config.vocabSize());
        try (OnnxTensor idTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq});
             OnnxTensor count = choices
                     ? OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {Math.max(k, 1)}), new long[] {1})
                     : null;
             OnnxTensor selfAllowed = masksSelf
                     ? OnnxTensor.createTensor(env, LongBuffer.wrap(selfMask != null ? selfMask : ones(total)),
                             new long[] {selfMask != null ? batch : 1, total})
                     : null) {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(T5Graphs.INPUT_IDS, idTensor);
            in.put(T5Graphs.ENCODER_ATTENTION_MASK, encoderMask);
            if (selfAllowed != null) {
                in.put(T5Graphs.DECODER_ATTENTION_MASK, selfAllowed);
            }
            if (count != null) {
                in.put(TokenChoiceHead.CHOICE_COUNT, count);
            }
            for (int i = 0; i < config.numDecoderLayers(); i++) {
                in.put(T5Graphs.crossKey(i), cross.key(i));
                in.put(T5Graphs.crossValue(i), cross.value(i));
                in.put(T5Graphs.pastKey(i), past.key(i));
                in.put(T5Graphs.pastValue(i), past.value(i));
            }
            Set<String> requested = new HashSet<>(presentNames);
            if (outputs.logits()) {
                requested.add(T5Graphs.LOGITS);
            }
            if (k > 0) {
                requested.add(TokenChoiceHead.CHOICE_IDS);
                requested.add(TokenChoiceHead.CHOICE_LOG_PROBS);
            }
            OrtSession.Result r = decoder.run(in, requested);
            try {
                FloatBuffer logits = outputs.logits() // copies
                        ? ((OnnxTensor) r.get(T5Graphs.LOGITS).orElseThrow()).getFloatBuffer() : null;
                LongBuffer choiceIds = k > 0
                        ? ((OnnxTensor) r.get(TokenChoiceHead.CHOICE_IDS).orElseThrow()).getLongBuffer() : null;
                FloatBuffer choiceLogProbs = k > 0
                        ? ((OnnxTensor) r.get(TokenChoiceHead.CHOICE_LOG_PROBS).orElseThrow()).getFloatBuffer() : null;
                return new LanguageModelRunner.DecoderOutput(logits, batch, seq, config.vocabSize(),
                        KvCache.fromResult(r, config.numDecoderLayers(), batch, past.length() + seq,
                                T5Graphs::presentKey, T5Graphs::presentValue), choiceIds, choiceLogProbs, k);
            } catch (RuntimeException e) {
                r.close();
                throw e;
            }
        }
    }

    private static long[] ones(int n) {
        long[] out = new long[n];
        java.util.Arrays.fill(out, 1L);
        return out;
    }

    private void checkIds(long[] ids, int expected) {
        LanguageModelRunner.checkTokenIds(ids, expected, config.vocabSize());
    }

    @Override
    public void close() throws OrtException {
        try {
            embedding.close();
            encoder.close();
        } finally {
            decoder.close();
        }
    }
}
