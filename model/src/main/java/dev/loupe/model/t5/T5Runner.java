package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.KvCache;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.OrtTensors;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

    private T5Runner(OrtSession embedding, OrtSession encoder, OrtSession decoder, T5Config config) {
        this.embedding = embedding;
        this.encoder = encoder;
        this.decoder = decoder;
        this.config = config;
    }

    public static T5Runner open(Path embeddingModel, Path encoderModel, Path decoderModel, T5Config config,
                                RuntimeOptions options) throws IOException {
        List<OrtSession> opened = new ArrayList<>();
        try {
            opened.add(OrtSessions.open(embeddingModel, options));
            opened.add(OrtSessions.open(encoderModel, options));
            opened.add(OrtSessions.open(decoderModel, options));
            return new T5Runner(opened.get(0), opened.get(1), opened.get(2), config);
        } catch (IOException | RuntimeException e) {
            for (OrtSession s : opened) {
                try {
                    s.close();
                } catch (OrtException ignored) {
                    // failure path
                }
            }
            throw e;
        }
    }

    public T5Config config() {
        return config;
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
        int batch = past.batch();
        checkIds(ids, batch * seq);
        if (cross.batch() != batch) {
            throw new IllegalArgumentException("cross-attention batch " + cross.batch() + " for " + batch + " rows");
        }
        try (OnnxTensor idTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq})) {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(T5Graphs.INPUT_IDS, idTensor);
            in.put(T5Graphs.ENCODER_ATTENTION_MASK, encoderMask);
            for (int i = 0; i < config.numDecoderLayers(); i++) {
                in.put(T5Graphs.crossKey(i), cross.key(i));
                in.put(T5Graphs.crossValue(i), cross.value(i));
                in.put(T5Graphs.pastKey(i), past.key(i));
                in.put(T5Graphs.pastValue(i), past.value(i));
            }
            OrtSession.Result r = decoder.run(in);
            try {
                FloatBuffer logits = ((OnnxTensor) r.get(T5Graphs.LOGITS).orElseThrow()).getFloatBuffer(); // a copy
                return new LanguageModelRunner.DecoderOutput(logits, batch, seq, config.vocabSize(), KvCache.fromResult(r,
                        config.numDecoderLayers(), batch, past.length() + seq, T5Graphs::presentKey,
                        T5Graphs::presentValue));
            } catch (RuntimeException e) {
                r.close();
                throw e;
            }
        }
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
