package dev.loupe.model.llm;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.DirectFloatPool;
import dev.loupe.model.onnx.GraphOps;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.OrtTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

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
    private final boolean choices;
    private final Set<String> presentNames;
    /** The outputs a run copies out, by index: +1 the logits, +2 the choices (the cache always). */
    private final List<Set<String>> copiedOutputs;
    private final boolean floatEmbeddings;
    private final boolean sharedBuffer;
    private final KvBufferPool kvBufferPool = new KvBufferPool();
    /** A fused decoder's prefill inputs (the rows' embeddings), reused across generations ({@link SharedBufferDecoder}). */
    private final DirectFloatPool prefillEmbedBuffers;
    /** The KV cache's element type: the decoder's past inputs' (float16 in fp16-compute packages). */
    private final OnnxJavaType kvElementType;

    /** Where a fused decoder's prefill runs its parts side by side ({@link SharedBufferDecoder}). */
    private final ConcurrentRuns prefillRuns;

    /**
     * Whether the decoder multiplies row-quantized int8 activations ({@code MatMulIntegerToFloat}: int8 packages),
     * where a prefill in parts side by side pays (1.33-1.41x at batch 16); an fp32 decoder's prefill in parts was
     * slower inside {@code loupe bench} (docs/benchmarks.md, "int8 batch 16: the decoder's prefill in parts").
     */
    private final boolean int8Activations;

    private LanguageModelRunner(OrtEnvironment env, OrtSession embedding, OrtSession decoder, DecoderConfig config,
                                ConcurrentRuns prefillRuns, boolean int8Activations) throws OrtException {
        this.env = env;
        this.prefillRuns = prefillRuns;
        this.prefillEmbedBuffers = new DirectFloatPool(prefillRuns.threads());
        this.int8Activations = int8Activations;
        this.embedding = embedding;
        this.decoder = decoder;
        this.config = config;
        NodeInfo logits = decoder.getOutputInfo().get(LlamaGraphs.LOGITS);
        if (logits == null || !(logits.getInfo() instanceof TensorInfo ti) || ti.getShape().length != 3
                || ti.getShape()[2] != config.vocabSize()) {
            throw new IllegalArgumentException("decoder model has no logits output [batch, seq, "
                    + config.vocabSize() + "]");
        }
        this.sharedBuffer = decoder.getInputNames().contains(FusedLlamaGraphs.SEQLENS_K);
        this.selectable = sharedBuffer || decoder.getInputNames().contains(LlamaGraphs.LOGITS_TO_KEEP);
        this.allPositions = !selectable && ti.getShape()[1] != 1;
        this.choices = TokenChoiceHead.offeredBy(decoder.getOutputNames());
        Set<String> present = new java.util.LinkedHashSet<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            present.add(LlamaGraphs.presentKey(i));
            present.add(LlamaGraphs.presentValue(i));
        }
        this.presentNames = Set.copyOf(present);
        List<Set<String>> copied = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Set<String> names = new java.util.HashSet<>(presentNames);
            if ((i & 1) != 0) {
                names.add(LlamaGraphs.LOGITS);
            }
            if ((i & 2) != 0) {
                names.add(TokenChoiceHead.CHOICE_IDS);
                names.add(TokenChoiceHead.CHOICE_LOG_PROBS);
            }
            copied.add(Set.copyOf(names));
        }
        this.copiedOutputs = List.copyOf(copied);
        NodeInfo embedded = embedding.getOutputInfo().values().iterator().next();
        this.floatEmbeddings = embedded.getInfo() instanceof TensorInfo et && et.type == OnnxJavaType.FLOAT;
        NodeInfo past = decoder.getInputInfo().get(LlamaGraphs.pastKey(0));
        this.kvElementType = past != null && past.getInfo() instanceof TensorInfo pt ? pt.type : OnnxJavaType.FLOAT;
        if (kvElementType != OnnxJavaType.FLOAT && !(sharedBuffer && kvElementType == OnnxJavaType.FLOAT16)) {
            throw new IllegalArgumentException("decoder's KV cache is " + kvElementType + "; only the fused decoder "
                    + "of an fp16-compute package takes a FLOAT16 cache, every other one FLOAT");
        }
    }

    /**
     * Opens the embedding and decoder models written from {@link LlamaGraphs} on CPU.
     *
     * @param intraOpThreads ONNX Runtime intra-op threads of the process's shared pool (1 in tests; the core count
     *                       in serving); the first model opened in the process fixes it ({@link OrtSessions})
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
                return new LanguageModelRunner(OrtSessions.environment(options), emb, dec, config,
                        ConcurrentRuns.forCpuRuns(options, "prefill"),
                        GraphOps.uses(decoderModel, "MatMulIntegerToFloat"));
            } catch (IOException | OrtException | RuntimeException e) {
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

    /**
     * Whether the decoder is a fused graph ({@link FusedLlamaGraphs}, {@link FusedOptGraphs}), whose cache is a {@link
     * SharedKvCache} run through {@link SharedBufferDecoder}; {@code decode} and {@code decodeTokens} (left-padded,
     * {@link KvCache}) are for the other graphs.
     */
    public boolean sharedBufferCache() {
        return sharedBuffer;
    }

    /** The element type of the decoder's KV cache (FLOAT, or FLOAT16 in fp16-compute packages). */
    OnnxJavaType kvElementType() {
        return kvElementType;
    }

    /** The buffers of this model's {@link SharedKvCache}s, reused from one generation to the next. */
    KvBufferPool kvBufferPool() {
        return kvBufferPool;
    }

    /** The runs a fused decoder's prefill and steps may put side by side on the pool ({@link SharedBufferDecoder}). */
    ConcurrentRuns prefillRuns() {
        return prefillRuns;
    }

    /** Direct memory for a fused decoder's prefill inputs, one buffer per part running at once. */
    DirectFloatPool prefillEmbedBuffers() {
        return prefillEmbedBuffers;
    }

    /** Whether a prefill runs in parts by default ({@link #int8Activations}). */
    boolean prefillsInParts() {
        return int8Activations;
    }

    OrtSession decoderSession() {
        return decoder;
    }

    OrtSession embeddingSession() {
        return embedding;
    }

    /** Whether the embedding graph's output is float32 (the decoder's input type). */
    boolean floatEmbeddings() {
        return floatEmbeddings;
    }

    /** Whether {@link #decode(float[], int, int, long[], long[], KvCache)} returns every position's logits. */
    public boolean allPositionLogits() {
        return allPositions;
    }

    /** Whether the decoder can return every position's logits (an all-positions or selectable graph). */
    public boolean supportsAllPositions() {
        return allPositions || selectable;
    }

    /** Whether the decoder graph has the {@link TokenChoiceHead} outputs (packages written before it do not). */
    public boolean offersChoices() {
        return choices;
    }

    /** Token embeddings, flat row-major [batch, seq, hidden]. */
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        checkIds(ids, batch * seq);
        try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq});
             OrtSession.Result r = embedding.run(Map.of(LlamaGraphs.INPUT_IDS, t))) {
            return OrtTensors.floats((OnnxTensor) r.get(0));
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
        return decode(embeds, batch, seq, attentionMask, positionIds, past, logitsToKeep, null);
    }

    /**
     * As {@link #decode(float[], int, int, long[], long[], KvCache, int)}, with the logits written into
     * {@code buffers} where their shape allows (see {@link #decodeTokens}); null: logits in a Java array.
     */
    public DecoderOutput decode(float[] embeds, int batch, int seq, long[] attentionMask, long[] positionIds,
                                KvCache past, int logitsToKeep, StepBuffers buffers) throws OrtException {
        return decode(embeds, batch, seq, attentionMask, positionIds, past, logitsToKeep, buffers, StepOutputs.LOGITS);
    }

    /** As {@link #decode(float[], int, int, long[], long[], KvCache, int, StepBuffers)}, returning {@code outputs}. */
    public DecoderOutput decode(float[] embeds, int batch, int seq, long[] attentionMask, long[] positionIds,
                                KvCache past, int logitsToKeep, StepBuffers buffers, StepOutputs outputs)
            throws OrtException {
        if (embeds.length != (long) batch * seq * config.hiddenSize()) {
            throw new IllegalArgumentException("decoder inputs disagree: batch " + batch + ", seq " + seq
                    + ", embeds " + embeds.length);
        }
        checkDecode(batch, seq, attentionMask.length, positionIds.length, past, logitsToKeep);
        try (OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(embeds),
                     new long[] {batch, seq, config.hiddenSize()});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(attentionMask),
                     new long[] {batch, past.length() + seq});
             OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(positionIds), new long[] {batch, seq})) {
            return run(e, m, p, batch, seq, past, logitsToKeep, buffers, outputs);
        }
    }

    /**
     * One decoder run on tokens: the embedding graph's output goes into the decoder as it is (it never crosses
     * into Java), the inputs come from {@code buffers} (reused from step to step) and, where the logits' shape is
     * known before the run, ONNX Runtime writes them straight into {@code buffers}' logits memory, which the
     * returned output reads (valid until the next run on the same buffers).
     *
     * @param ids           flat [batch, seq] token ids
     * @param attentionMask writes [batch, past.length() + seq] into the buffer it is given
     * @param positionIds   writes [batch, seq] into the buffer it is given
     */
    public DecoderOutput decodeTokens(long[] ids, int batch, int seq, Consumer<LongBuffer> attentionMask,
                                      Consumer<LongBuffer> positionIds, KvCache past, int logitsToKeep,
                                      StepBuffers buffers) throws OrtException {
        return decodeTokens(ids, batch, seq, attentionMask, positionIds, past, logitsToKeep, buffers,
                StepOutputs.LOGITS);
    }

    /**
     * As {@link #decodeTokens(long[], int, int, Consumer, Consumer, KvCache, int, StepBuffers)}, returning
     * {@code outputs} (choices need {@link #offersChoices()}); choices of one position per row also go straight
     * into {@code buffers}.
     */
    public DecoderOutput decodeTokens(long[] ids, int batch, int seq, Consumer<LongBuffer> attentionMask,
                                      Consumer<LongBuffer> positionIds, KvCache past, int logitsToKeep,
                                      StepBuffers buffers, StepOutputs outputs) throws OrtException {
        checkIds(ids, batch * seq);
        int total = past.length() + seq;
        if (!floatEmbeddings) { // the decoder takes float32 embeddings: convert them through Java as embed() does
            long[] mask = new long[batch * total];
            attentionMask.accept(LongBuffer.wrap(mask));
            long[] positions = new long[batch * seq];
            positionIds.accept(LongBuffer.wrap(positions));
            return decode(embed(ids, batch, seq), batch, seq, mask, positions, past, logitsToKeep, buffers, outputs);
        }
        checkDecode(batch, seq, batch * total, batch * seq, past, logitsToKeep);
        LongBuffer idBuffer = buffers.ids(batch * seq);
        idBuffer.put(0, ids);
        LongBuffer maskBuffer = buffers.mask(batch * total);
        attentionMask.accept(maskBuffer);
        LongBuffer positionBuffer = buffers.positions(batch * seq);
        positionIds.accept(positionBuffer);
        try (OnnxTensor idTensor = OnnxTensor.createTensor(env, idBuffer, new long[] {batch, seq});
             OrtSession.Result embedded = embedding.run(Map.of(LlamaGraphs.INPUT_IDS, idTensor));
             OnnxTensor m = OnnxTensor.createTensor(env, maskBuffer, new long[] {batch, total});
             OnnxTensor p = OnnxTensor.createTensor(env, positionBuffer, new long[] {batch, seq})) {
            return run((OnnxTensor) embedded.get(0), m, p, batch, seq, past, logitsToKeep, buffers, outputs);
        }
    }

    private void checkDecode(int batch, int seq, int maskLength, int positionsLength, KvCache past,
                             int logitsToKeep) {
        if (sharedBuffer) {
            throw new IllegalStateException("this decoder keeps its cache in a shared buffer: run it through "
                    + "SharedBufferDecoder");
        }
        if (logitsToKeep < 0 || (!supportsAllPositions() && logitsToKeep != 1)) {
            throw new IllegalArgumentException("logitsToKeep " + logitsToKeep + " not available from this decoder"
                    + (supportsAllPositions() ? "" : " (it returns the last position only)"));
        }
        int total = past.length() + seq;
        if (past.batch() != batch || maskLength != batch * total || positionsLength != batch * seq) {
            throw new IllegalArgumentException("decoder inputs disagree: batch " + batch + ", seq " + seq
                    + ", past " + past.batch() + "x" + past.length() + ", mask " + maskLength + ", positions "
                    + positionsLength);
        }
    }

    private DecoderOutput run(OnnxTensor embeds, OnnxTensor mask, OnnxTensor positionIds, int batch, int seq,
                              KvCache past, int logitsToKeep, StepBuffers buffers, StepOutputs outputs)
            throws OrtException {
        if (outputs.choices() > 0 && !choices) {
            throw new IllegalArgumentException("this decoder graph has no token-choice outputs");
        }
        int positions = logitsToKeep == 0 ? seq : Math.min(logitsToKeep, seq);
        int total = past.length() + seq;
        int vocab = config.vocabSize();
        int k = Math.min(outputs.choices(), vocab);
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(LlamaGraphs.INPUTS_EMBEDS, embeds);
            in.put(LlamaGraphs.ATTENTION_MASK, mask);
            in.put(LlamaGraphs.POSITION_IDS, positionIds);
            if (selectable) {
                LongBuffer keep = buffers != null ? buffers.logitsToKeep() : LongBuffer.wrap(new long[1]);
                keep.put(0, logitsToKeep);
                in.put(LlamaGraphs.LOGITS_TO_KEEP, own(owned, OnnxTensor.createTensor(env, keep, new long[] {1})));
            }
            if (choices) { // an input of the graph even when its outputs are not asked for
                LongBuffer count = buffers != null ? buffers.choiceCount() : LongBuffer.wrap(new long[1]);
                count.put(0, Math.max(k, 1));
                in.put(TokenChoiceHead.CHOICE_COUNT, own(owned, OnnxTensor.createTensor(env, count, new long[] {1})));
            }
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                in.put(LlamaGraphs.pastKey(i), past.key(i));
                in.put(LlamaGraphs.pastValue(i), past.value(i));
            }
            // the graph's outputs are [batch, seq, n] (all-positions graph) or [batch, positions, n]; one position
            // per row (every generation step) goes straight into the buffers, longer runs into a copy
            int graphPositions = allPositions ? seq : positions;
            boolean direct = buffers != null && graphPositions == 1 && positions == 1;
            Set<String> requested = copiedOutputs.get((outputs.logits() && !direct ? 1 : 0)
                    + (k > 0 && !direct ? 2 : 0));
            Map<String, OnnxTensor> pinned = new HashMap<>();
            FloatBuffer pinnedLogits = null;
            LongBuffer pinnedIds = null;
            FloatBuffer pinnedLogProbs = null;
            if (outputs.logits() && direct) {
                pinnedLogits = buffers.logits(batch * vocab);
                pinned.put(LlamaGraphs.LOGITS,
                        own(owned, OnnxTensor.createTensor(env, pinnedLogits, new long[] {batch, 1, vocab})));
            }
            if (k > 0 && direct) {
                pinnedIds = buffers.choiceIds(batch * k);
                pinnedLogProbs = buffers.choiceLogProbs(batch * k);
                long[] shape = {batch, 1, k};
                pinned.put(TokenChoiceHead.CHOICE_IDS, own(owned, OnnxTensor.createTensor(env, pinnedIds, shape)));
                pinned.put(TokenChoiceHead.CHOICE_LOG_PROBS,
                        own(owned, OnnxTensor.createTensor(env, pinnedLogProbs, shape)));
            }
            OrtSession.Result r = decoder.run(in, requested, pinned);
            try {
                FloatBuffer logits = !outputs.logits() ? null : pinnedLogits != null ? pinnedLogits
                        : lastPositions((OnnxTensor) r.get(LlamaGraphs.LOGITS).orElseThrow(), batch,
                                allPositions ? seq : positions, positions);
                LongBuffer ids = k == 0 ? null : pinnedIds != null ? pinnedIds
                        : lastPositionIds((OnnxTensor) r.get(TokenChoiceHead.CHOICE_IDS).orElseThrow(), batch,
                                allPositions ? seq : positions, positions);
                FloatBuffer logProbs = k == 0 ? null : pinnedLogProbs != null ? pinnedLogProbs
                        : lastPositions((OnnxTensor) r.get(TokenChoiceHead.CHOICE_LOG_PROBS).orElseThrow(), batch,
                                allPositions ? seq : positions, positions);
                return new DecoderOutput(logits, batch, positions, vocab, KvCache.fromResult(r,
                        config.numHiddenLayers(), batch, total), ids, logProbs, k);
            } catch (RuntimeException e) {
                r.close();
                throw e;
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private void checkIds(long[] ids, int expected) {
        checkTokenIds(ids, expected, config.vocabSize());
    }

    /** Checks there are {@code expected} ids, each inside a vocabulary of {@code vocabSize}. */
    public static void checkTokenIds(long[] ids, int expected, int vocabSize) {
        if (ids.length != expected) {
            throw new IllegalArgumentException(ids.length + " ids, expected " + expected);
        }
        for (long id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + vocabSize);
            }
        }
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    /** The last {@code keep} of {@code seq} positions of a float output [batch, seq, n] (the buffer when all). */
    private static FloatBuffer lastPositions(OnnxTensor t, int batch, int seq, int keep) {
        FloatBuffer fb = t.getFloatBuffer();
        if (keep == seq) {
            return fb;
        }
        int n = fb.capacity() / (batch * seq);
        float[] out = new float[batch * keep * n];
        for (int b = 0; b < batch; b++) {
            fb.get((b * seq + seq - keep) * n, out, b * keep * n, keep * n);
        }
        return FloatBuffer.wrap(out);
    }

    /** As {@link #lastPositions} for an int64 output. */
    private static LongBuffer lastPositionIds(OnnxTensor t, int batch, int seq, int keep) {
        LongBuffer lb = t.getLongBuffer();
        if (keep == seq) {
            return lb;
        }
        int n = lb.capacity() / (batch * seq);
        long[] out = new long[batch * keep * n];
        for (int b = 0; b < batch; b++) {
            lb.get((b * seq + seq - keep) * n, out, b * keep * n, keep * n);
        }
        return LongBuffer.wrap(out);
    }

    @Override
    public void close() throws OrtException {
        prefillRuns.close();
        try {
            embedding.close();
        } finally {
            decoder.close();
        }
    }

    /**
     * What one decoder run returned: the logits, flat [batch, positions, vocab] (positions = 1 for a last-position
     * graph; null when the run asked for choices only), each row's top {@code choices} ids and log-probs, flat
     * [batch, positions, choices] (null when none were asked for), and the cache to feed the next step (the caller
     * closes it). The outputs may be {@link StepBuffers} memory that the next run on the same buffers overwrites:
     * read them before that run.
     */
    public record DecoderOutput(FloatBuffer logitBuffer, int batch, int positions, int vocab, KvCache present,
                                LongBuffer choiceIds, FloatBuffer choiceLogProbs, int choices) {
        /** Logits only. */
        public DecoderOutput(FloatBuffer logitBuffer, int batch, int positions, int vocab, KvCache present) {
            this(logitBuffer, batch, positions, vocab, present, null, null, 0);
        }

        /** Over logits in a Java array. */
        public DecoderOutput(float[] logits, int batch, int positions, int vocab, KvCache present) {
            this(FloatBuffer.wrap(logits), batch, positions, vocab, present);
        }

        /** Whether the run returned the logits. */
        public boolean hasLogits() {
            return logitBuffer != null;
        }

        /** How many bytes of outputs the run handed to Java besides the cache (logits and choices). */
        public long outputBytes() {
            long cells = (long) batch * positions;
            return (hasLogits() ? cells * vocab * Float.BYTES : 0) + cells * choices * (Long.BYTES + Float.BYTES);
        }

        /** All the logits, flat [batch, positions, vocab] (a copy). */
        public float[] logits() {
            float[] out = new float[batch * positions * vocab];
            logitsOrThrow().get(0, out);
            return out;
        }

        /** The logits of row {@code b} at its last position (a copy). */
        public float[] lastLogits(int b) {
            return logits(b, positions - 1);
        }

        /** Copies the logits of row {@code b} at its last position into {@code into} (vocab long). */
        public void lastLogits(int b, float[] into) {
            if (into.length != vocab) {
                throw new IllegalArgumentException("need a vocab-long array (" + vocab + "), got " + into.length);
            }
            logitsOrThrow().get((b * positions + positions - 1) * vocab, into);
        }

        /** The logits of row {@code b} at position {@code p} (a copy). */
        public float[] logits(int b, int p) {
            float[] out = new float[vocab];
            logitsOrThrow().get((b * positions + p) * vocab, out);
            return out;
        }

        /**
         * Copies row {@code b}'s choices at its last position, best first, into the first {@link #choices} cells
         * of {@code ids} and {@code logProbs}.
         */
        public void lastChoices(int b, int[] ids, float[] logProbs) {
            if (choices == 0) {
                throw new IllegalStateException("the run returned no token choices");
            }
            int at = (b * positions + positions - 1) * choices;
            for (int j = 0; j < choices; j++) {
                ids[j] = (int) choiceIds.get(at + j);
            }
            choiceLogProbs.get(at, logProbs, 0, choices);
        }

        private FloatBuffer logitsOrThrow() {
            if (logitBuffer == null) {
                throw new IllegalStateException("the run returned token choices only, no logits");
            }
            return logitBuffer;
        }
    }

    /**
     * Direct (off-heap) memory for the inputs and logits of a chain of decoder steps, reused from step to step so
     * that a step allocates no input or output arrays: token ids, attention mask, position ids and the logits that
     * ONNX Runtime writes in place. Grows when a step needs more. Belongs to one generation (not thread-safe).
     */
    public static final class StepBuffers {
        private LongBuffer ids = longs(0);
        private LongBuffer mask = longs(0);
        private LongBuffer positions = longs(0);
        private final LongBuffer keep = longs(1);
        private final LongBuffer choiceCount = longs(1);
        private FloatBuffer logits = FloatBuffer.allocate(0);
        private LongBuffer choiceIds = longs(0);
        private FloatBuffer choiceLogProbs = FloatBuffer.allocate(0);

        LongBuffer ids(int n) {
            ids = fit(ids, n);
            return ids;
        }

        LongBuffer mask(int n) {
            mask = fit(mask, n);
            return mask;
        }

        LongBuffer positions(int n) {
            positions = fit(positions, n);
            return positions;
        }

        LongBuffer logitsToKeep() {
            return keep;
        }

        LongBuffer choiceCount() {
            return choiceCount;
        }

        /** The first {@code n} floats of the logits memory (kept at its largest size, as the choice buffers). */
        FloatBuffer logits(int n) {
            logits = atLeast(logits, n);
            return logits.clear().limit(n).slice();
        }

        LongBuffer choiceIds(int n) {
            if (choiceIds.capacity() < n) {
                choiceIds = longs(n);
            }
            return choiceIds.clear().limit(n).slice();
        }

        FloatBuffer choiceLogProbs(int n) {
            choiceLogProbs = atLeast(choiceLogProbs, n);
            return choiceLogProbs.clear().limit(n).slice();
        }

        private static FloatBuffer atLeast(FloatBuffer b, int n) {
            return b.capacity() >= n ? b : ByteBuffer.allocateDirect(Math.multiplyExact(n, Float.BYTES))
                    .order(ByteOrder.nativeOrder()).asFloatBuffer();
        }

        private static LongBuffer fit(LongBuffer b, int n) {
            LongBuffer big = b.capacity() >= n ? b : longs(Math.max(n, b.capacity() * 2));
            return big.clear().limit(n).slice();
        }

        private static LongBuffer longs(int n) {
            return ByteBuffer.allocateDirect(n * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
        }
    }
}
