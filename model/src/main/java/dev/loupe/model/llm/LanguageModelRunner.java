package dev.loupe.model.llm;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.OrtSessions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the two language-model graphs of {@link LlamaGraphs} in ONNX Runtime: token embedding and one decoder step
 * with KV cache. Owns its sessions; thread-safe as far as ONNX Runtime sessions are (concurrent runs allowed).
 */
public final class LanguageModelRunner implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession embedding;
    private final OrtSession decoder;
    private final DecoderConfig config;
    private final boolean allPositions;
    private final boolean selectable;

    private LanguageModelRunner(OrtEnvironment env, OrtSession embedding, OrtSession decoder, DecoderConfig config)
            throws OrtException {
        this.env = env;
        this.embedding = embedding;
        this.decoder = decoder;
        this.config = config;
        NodeInfo logits = decoder.getOutputInfo().get(LlamaGraphs.LOGITS);
        if (logits == null || !(logits.getInfo() instanceof TensorInfo ti) || ti.getShape().length != 3
                || ti.getShape()[2] != config.vocabSize()) {
            throw new IllegalArgumentException("decoder model has no logits output [batch, seq, "
                    + config.vocabSize() + "]");
        }
        this.selectable = decoder.getInputNames().contains(LlamaGraphs.LOGITS_TO_KEEP);
        this.allPositions = !selectable && ti.getShape()[1] != 1;
    }

    /**
     * Opens the embedding and decoder models written from {@link LlamaGraphs} on CPU.
     *
     * @param intraOpThreads ONNX Runtime intra-op threads per session (1 in tests; the core count in serving)
     */
    public static LanguageModelRunner open(Path embeddingModel, Path decoderModel, DecoderConfig config,
                                           int intraOpThreads) throws IOException {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
        return open(embeddingModel, decoderModel, config, RuntimeOptions.cpu(intraOpThreads));
    }

    /** Opens the models on the device and with the threads that {@code options} name. */
    public static LanguageModelRunner open(Path embeddingModel, Path decoderModel, DecoderConfig config,
                                           RuntimeOptions options) throws IOException {
        OrtSession emb = OrtSessions.open(embeddingModel, options);
        try {
            OrtSession dec = OrtSessions.open(decoderModel, options);
            try {
                return new LanguageModelRunner(OrtSessions.environment(options), emb, dec, config);
            } catch (OrtException | RuntimeException e) {
                dec.close();
                throw new IOException("decoder graph " + decoderModel + " is not usable: " + e.getMessage(), e);
            }
        } catch (IOException | OrtException | RuntimeException e) {
            try {
                emb.close();
            } catch (OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    public OrtEnvironment environment() {
        return env;
    }

    public DecoderConfig config() {
        return config;
    }

    /** Whether {@link #decode(float[], int, int, long[], long[], KvCache)} returns every position's logits. */
    public boolean allPositionLogits() {
        return allPositions;
    }

    /** Whether the decoder can return every position's logits (an all-positions or selectable graph). */
    public boolean supportsAllPositions() {
        return allPositions || selectable;
    }

    /** Token embeddings, flat row-major [batch, seq, hidden]. */
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        if (ids.length != batch * seq) {
            throw new IllegalArgumentException(ids.length + " ids for batch " + batch + " x seq " + seq);
        }
        for (long id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + config.vocabSize());
            }
        }
        try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq});
             OrtSession.Result r = embedding.run(Map.of(LlamaGraphs.INPUT_IDS, t))) {
            return copy((OnnxTensor) r.get(0));
        }
    }

    /**
     * One decoder run.
     *
     * @param embeds        flat [batch, seq, hidden]
     * @param attentionMask flat [batch, past.length() + seq], 1 = attend, 0 = padding
     * @param positionIds   flat [batch, seq]
     * @param past          the cache of earlier steps ({@link KvCache#empty} on the first); not closed here
     */
    public DecoderOutput decode(float[] embeds, int batch, int seq, long[] attentionMask, long[] positionIds,
                                KvCache past) throws OrtException {
        return decode(embeds, batch, seq, attentionMask, positionIds, past, allPositions ? 0 : 1);
    }

    /**
     * One decoder run returning the logits of the last {@code logitsToKeep} positions (0: all), as transformers'
     * {@code logits_to_keep}. A last-position graph only serves 1.
     */
    public DecoderOutput decode(float[] embeds, int batch, int seq, long[] attentionMask, long[] positionIds,
                                KvCache past, int logitsToKeep) throws OrtException {
        if (logitsToKeep < 0 || (!supportsAllPositions() && logitsToKeep != 1)) {
            throw new IllegalArgumentException("logitsToKeep " + logitsToKeep + " not available from this decoder"
                    + (supportsAllPositions() ? "" : " (it returns the last position only)"));
        }
        int positions = logitsToKeep == 0 ? seq : Math.min(logitsToKeep, seq);
        int total = past.length() + seq;
        if (past.batch() != batch || embeds.length != (long) batch * seq * config.hiddenSize()
                || attentionMask.length != batch * total || positionIds.length != batch * seq) {
            throw new IllegalArgumentException("decoder inputs disagree: batch " + batch + ", seq " + seq
                    + ", past " + past.batch() + "x" + past.length() + ", embeds " + embeds.length + ", mask "
                    + attentionMask.length + ", positions " + positionIds.length);
        }
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(LlamaGraphs.INPUTS_EMBEDS, own(owned, OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                    new long[] {batch, seq, config.hiddenSize()})));
            in.put(LlamaGraphs.ATTENTION_MASK, own(owned, OnnxTensor.createTensor(env,
                    LongBuffer.wrap(attentionMask), new long[] {batch, total})));
            in.put(LlamaGraphs.POSITION_IDS, own(owned, OnnxTensor.createTensor(env, LongBuffer.wrap(positionIds),
                    new long[] {batch, seq})));
            if (selectable) {
                in.put(LlamaGraphs.LOGITS_TO_KEEP, own(owned, OnnxTensor.createTensor(env,
                        LongBuffer.wrap(new long[] {logitsToKeep}), new long[] {1})));
            }
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                in.put(LlamaGraphs.pastKey(i), past.key(i));
                in.put(LlamaGraphs.pastValue(i), past.value(i));
            }
            OrtSession.Result r = decoder.run(in);
            try {
                OnnxValue logitsValue = r.get(LlamaGraphs.LOGITS).orElseThrow();
                float[] logits = allPositions && positions < seq
                        ? lastPositions((OnnxTensor) logitsValue, batch, seq, positions)
                        : copy((OnnxTensor) logitsValue);
                return new DecoderOutput(logits, batch, positions, config.vocabSize(),
                        KvCache.fromResult(r, config.numHiddenLayers(), batch, total));
            } catch (RuntimeException e) {
                r.close();
                throw e;
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    private float[] lastPositions(OnnxTensor t, int batch, int seq, int keep) {
        FloatBuffer fb = t.getFloatBuffer();
        int vocab = config.vocabSize();
        float[] out = new float[batch * keep * vocab];
        for (int b = 0; b < batch; b++) {
            fb.get((b * seq + seq - keep) * vocab, out, b * keep * vocab, keep * vocab);
        }
        return out;
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
        } finally {
            decoder.close();
        }
    }

    /**
     * Logits of one decoder run, flat [batch, positions, vocab] (positions = 1 for a last-position graph), and
     * the cache to feed the next step (the caller closes it).
     */
    public record DecoderOutput(float[] logits, int batch, int positions, int vocab, KvCache present) {
        /** The logits of row {@code b} at its last position. */
        public float[] lastLogits(int b) {
            int from = (b * positions + positions - 1) * vocab;
            return java.util.Arrays.copyOfRange(logits, from, from + vocab);
        }

        /** The logits of row {@code b} at position {@code p}. */
        public float[] logits(int b, int p) {
            int from = (b * positions + p) * vocab;
            return java.util.Arrays.copyOfRange(logits, from, from + vocab);
        }
    }
}
