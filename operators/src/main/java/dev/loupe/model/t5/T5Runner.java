package dev.loupe.model.t5;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.OrtSessions;
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
 * the cross-attention keys/values) and decoder steps over a {@link T5State}. Thread-safe: sessions allow
 * concurrent runs and all request state lives in the caller's {@link T5State}.
 */
public final class T5Runner implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
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
            return copy((OnnxTensor) r.get(0));
        }
    }

    /**
     * Runs the encoder over right-padded rows and returns the decoder state before the first step.
     *
     * @param embeds flat [batch, seq, d_model]
     * @param mask   flat [batch, seq], 1 = token, 0 = padding
     */
    public T5State encode(float[] embeds, int batch, int seq, long[] mask) throws OrtException {
        if (embeds.length != (long) batch * seq * config.dModel() || mask.length != batch * seq) {
            throw new IllegalArgumentException("encoder inputs disagree: batch " + batch + ", seq " + seq);
        }
        int layers = config.numDecoderLayers();
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                new long[] {batch, seq, config.dModel()});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, seq});
             OrtSession.Result r = encoder.run(Map.of(T5Graphs.INPUTS_EMBEDS, e, T5Graphs.ATTENTION_MASK, m))) {
            float[][] keys = new float[layers][];
            float[][] values = new float[layers][];
            float[][] pastKeys = new float[layers][];
            float[][] pastValues = new float[layers][];
            for (int i = 0; i < layers; i++) {
                keys[i] = copy((OnnxTensor) r.get(T5Graphs.crossKey(i)).orElseThrow());
                values[i] = copy((OnnxTensor) r.get(T5Graphs.crossValue(i)).orElseThrow());
                pastKeys[i] = new float[0];
                pastValues[i] = new float[0];
            }
            return new T5State(batch, seq, mask.clone(), keys, values, 0, pastKeys, pastValues);
        }
    }

    /** The encoder's last hidden state, flat [batch, seq, d_model] (for parity checks). */
    public float[] encoderHiddenStates(float[] embeds, int batch, int seq, long[] mask) throws OrtException {
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                new long[] {batch, seq, config.dModel()});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, seq});
             OrtSession.Result r = encoder.run(Map.of(T5Graphs.INPUTS_EMBEDS, e, T5Graphs.ATTENTION_MASK, m))) {
            return copy((OnnxTensor) r.get(T5Graphs.ENCODER_HIDDEN_STATES).orElseThrow());
        }
    }

    /** The logits of one decoder run, flat [batch, seq, vocab], and the state after it. */
    public record Step(float[] logits, int batch, int seq, int vocab, T5State state) {
        public float[] logits(int row, int position) {
            int from = (row * seq + position) * vocab;
            return java.util.Arrays.copyOfRange(logits, from, from + vocab);
        }

        public float[] lastLogits(int row) {
            return logits(row, seq - 1);
        }
    }

    /** Decodes {@code ids} (flat [state.batch, seq]) after the state's cached positions. */
    public Step decode(long[] ids, int seq, T5State state) throws OrtException {
        int batch = state.batch();
        checkIds(ids, batch * seq);
        int heads = config.numHeads();
        int dKv = config.dKv();
        int layers = config.numDecoderLayers();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(T5Graphs.INPUT_IDS, own(owned, OnnxTensor.createTensor(env, LongBuffer.wrap(ids),
                    new long[] {batch, seq})));
            in.put(T5Graphs.ENCODER_ATTENTION_MASK, own(owned, OnnxTensor.createTensor(env,
                    LongBuffer.wrap(state.encoderMask()), new long[] {batch, state.encoderLength()})));
            long[] crossShape = {batch, heads, state.encoderLength(), dKv};
            long[] pastShape = {batch, heads, state.pastLength(), dKv};
            for (int i = 0; i < layers; i++) {
                in.put(T5Graphs.crossKey(i), own(owned, tensor(state.crossKeys()[i], crossShape)));
                in.put(T5Graphs.crossValue(i), own(owned, tensor(state.crossValues()[i], crossShape)));
                in.put(T5Graphs.pastKey(i), own(owned, tensor(state.pastKeys()[i], pastShape)));
                in.put(T5Graphs.pastValue(i), own(owned, tensor(state.pastValues()[i], pastShape)));
            }
            try (OrtSession.Result r = decoder.run(in)) {
                float[] logits = copy((OnnxTensor) r.get(T5Graphs.LOGITS).orElseThrow());
                float[][] keys = new float[layers][];
                float[][] values = new float[layers][];
                for (int i = 0; i < layers; i++) {
                    keys[i] = copy((OnnxTensor) r.get(T5Graphs.presentKey(i)).orElseThrow());
                    values[i] = copy((OnnxTensor) r.get(T5Graphs.presentValue(i)).orElseThrow());
                }
                return new Step(logits, batch, seq, config.vocabSize(),
                        state.withPast(state.pastLength() + seq, keys, values));
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(float[] data, long[] shape) throws OrtException {
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
    }

    private void checkIds(long[] ids, int expected) {
        if (ids.length != expected) {
            throw new IllegalArgumentException(ids.length + " ids, expected " + expected);
        }
        for (long id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + config.vocabSize());
            }
        }
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    private static float[] copy(OnnxTensor t) {
        FloatBuffer fb = t.getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
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
