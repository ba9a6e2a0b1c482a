package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.BoundSessions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * The device-resident runner of a fused decoder ({@link FusedLlamaGraphs}, {@link FusedOptGraphs}: the same inputs,
 * outputs and in-place cache, OPT's positions read from seqlens_k inside its graph): its embedding and decoder sessions
 * run through ONNX Runtime's C++ API (JavaCPP) with IoBinding, so tensors can stay in the execution provider's
 * memory, which ONNX Runtime's Java API cannot do (every Java {@code OnnxTensor} is host memory: on CUDA the Java
 * API copies the whole KV cache to the GPU and back on every step). Here the KV cache is a {@link DeviceKvCache} in
 * the provider's memory, the token embeddings of a step go from the embedding graph straight into the decoder on
 * the device, and per step only the token ids, the rows' lengths and the logit positions go in, and only what
 * generation reads comes back: each row's top choices ({@link TokenChoiceHead}) or, when a row's settings need
 * them, the logits. {@link #traffic()} counts those bytes. One code path for CPU and CUDA: on CPU the device memory
 * is CPU memory.
 *
 * <p>Greedy, sampling, beam search and candidate ranking use it as any {@link StepDecoder}; continuous batching
 * through {@link #continuousBatch}. A prefill reads each prefix where it is: host rows cross once per request;
 * a prefix whose image part the bound image side left on the device ({@link VisualPrefix#onDevice}) is assembled
 * there ({@link DevicePrefill}), only its prompt rows crossing. Thread-safe (sessions are; each generation has its
 * own bindings and cache). Owns its sessions.
 */
public final class DeviceBoundDecoder implements ContinuousDecoder {
    private final Session embedding;
    private final Session decoder;
    private final DecoderConfig config;
    private final long padTokenId;
    private final boolean choices;
    private final DeviceMemory memory;
    private final DevicePrefill devicePrefill;
    private final MemoryInfo host = BoundSessions.hostMemory();
    private final RunOptions run = new RunOptions();
    private final HostTraffic traffic = new HostTraffic();
    private final float[] padEmbedding;

    private DeviceBoundDecoder(Session embedding, Session decoder, DecoderConfig config, long padTokenId,
                               boolean choices, DeviceMemory memory, DevicePrefill devicePrefill)
            throws OrtException {
        this.embedding = embedding;
        this.decoder = decoder;
        this.config = config;
        this.padTokenId = padTokenId;
        this.choices = choices;
        this.memory = memory;
        this.devicePrefill = devicePrefill;
        this.padEmbedding = embed(new long[] {padTokenId}, 1, 1);
    }

    /**
     * Opens a package's embedding and fused decoder graphs on {@code options}' device; the cache takes the element
     * type of the decoder's past inputs (float32, or float16 in fp16-compute packages).
     *
     * @throws IOException when the decoder is not a fused graph (plain LLaMA, plain OPT and T5 decoders run through
     *                     {@link PrefixStepDecoder} / the T5 runner: choose the ort-java runner) or a graph cannot load
     */
    public static DeviceBoundDecoder open(Path embeddingModel, Path decoderModel, DecoderConfig config,
                                          long padTokenId, RuntimeOptions options) throws IOException {
        if (padTokenId < 0 || padTokenId >= config.vocabSize()) {
            throw new IllegalArgumentException("pad token id " + padTokenId + " outside vocabulary");
        }
        Session emb = null;
        Session dec = null;
        DeviceMemory memory = null;
        DevicePrefill prefill = null;
        try {
            dec = BoundSessions.open(decoderModel, options);
            Set<String> inputs = names(dec.GetInputNames());
            if (!inputs.contains(FusedLlamaGraphs.SEQLENS_K)) {
                throw new IOException("the device-bound runner serves packages with a fused decoder, LLaMA or OPT "
                        + "(manifest dimensions.llm_decoder \"fused\"); " + decoderModel.getFileName() + " is another "
                        + "decoder (plain LLaMA, plain OPT or T5): run it with the ort-java runner (--runner ort-java or "
                        + "auto)");
            }
            Set<String> outputs = names(dec.GetOutputNames());
            emb = BoundSessions.open(embeddingModel, options);
            memory = DeviceMemory.open(dec, options, 2 * config.numHiddenLayers(), pastElement(dec));
            prefill = DevicePrefill.open(options);
            return new DeviceBoundDecoder(emb, dec, config, padTokenId, TokenChoiceHead.offeredBy(outputs), memory,
                    prefill);
        } catch (IOException | OrtException | RuntimeException e) {
            if (prefill != null) {
                prefill.close();
            }
            if (memory != null) {
                memory.close();
            }
            if (emb != null) {
                emb.close();
            }
            if (dec != null) {
                dec.close();
            }
            throw e instanceof IOException io ? io : new IOException("cannot open the device-bound runner: "
                    + e.getMessage(), e);
        }
    }

    /** The element type of the decoder's past inputs (its KV cache): float32, or float16 in fp16-compute packages. */
    private static DeviceKvElement pastElement(Session decoder) throws IOException {
        org.bytedeco.onnxruntime.StringVector inputs = decoder.GetInputNames();
        for (long i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).getString().equals(LlamaGraphs.pastKey(0))) {
                try (org.bytedeco.onnxruntime.TypeInfo type = decoder.GetInputTypeInfo(i)) {
                    return DeviceKvElement.of(type.GetTensorTypeAndShapeInfo().GetElementType());
                }
            }
        }
        throw new IOException("the decoder graph has no " + LlamaGraphs.pastKey(0) + " input");
    }

    private static Set<String> names(org.bytedeco.onnxruntime.StringVector v) {
        Set<String> out = new HashSet<>();
        for (long i = 0; i < v.size(); i++) {
            out.add(v.get(i).getString());
        }
        return out;
    }

    /**
     * The bytes that crossed between host and device so far (all generations of this decoder) and the device memory
     * its allocator hands out ({@code InUse}).
     */
    public HostTrafficStats trafficStats() {
        return traffic.snapshot(deviceMemoryStats().getOrDefault("InUse", -1L));
    }

    /**
     * The device allocator's statistics in bytes ({@code InUse}, {@code MaxInUse}, {@code Limit} ... for an arena;
     * on CUDA the GPU memory this runner's sessions hold); empty where the allocator keeps none.
     */
    public Map<String, Long> deviceMemoryStats() {
        return memory.stats();
    }

    public DecoderConfig config() {
        return config;
    }

    @Override
    public long padTokenId() {
        return padTokenId;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int inputWidth() {
        return config.hiddenSize();
    }

    @Override
    public int[] penaltyContext(int[] promptIds) {
        return promptIds;
    }

    @Override
    public boolean feedsSequences() {
        return true;
    }

    @Override
    public boolean offersChoices() {
        return choices;
    }

    @Override
    public float[] embed(long[] ids, int batch, int seq) throws OrtException {
        LanguageModelRunner.checkTokenIds(ids, batch * seq, config.vocabSize());
        int hidden = config.hiddenSize();
        try (LongPointer idData = new LongPointer(ids);
             FloatPointer out = new FloatPointer((long) batch * seq * hidden);
             Value in = hostTensor(idData, 0, (long) ids.length * Long.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                     batch, seq);
             Value result = hostTensor(out, 0, (long) batch * seq * hidden * Float.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, batch, seq, hidden);
             IoBinding b = new IoBinding(embedding)) {
            b.BindInput(LlamaGraphs.INPUT_IDS, in);
            b.BindOutput(LlamaGraphs.INPUTS_EMBEDS, result);
            runChecked(embedding, b);
            float[] embeds = new float[batch * seq * hidden];
            out.get(embeds);
            traffic.lookup((long) ids.length * Long.BYTES, (long) embeds.length * Float.BYTES);
            return embeds;
        }
    }

    @Override
    public DecodingState startFrom(List<VisualPrefix> inputs, StepOutputs outputs) throws OrtException {
        return SlotState.start(new Runs(), inputs, padEmbedding, outputs);
    }

    @Override
    public DecodingState startFrom(List<VisualPrefix> inputs, StepOutputs outputs, int newTokens) throws OrtException {
        return SlotState.start(new Runs(), inputs, padEmbedding, outputs, newTokens);
    }

    @Override
    public <T> ContinuousBatch<T> continuousBatch(int[] eos, boolean keepFirstLogits, GenerationClock clock) {
        return new ContinuousBatch<>(new Runs(), config, choices, padTokenId, eos, keepFirstLogits, padEmbedding,
                clock);
    }

    private void runChecked(Session session, IoBinding binding) throws OrtException {
        try {
            session.Run(run, binding);
        } catch (RuntimeException e) {
            throw new OrtException("device-bound run failed: " + e.getMessage());
        }
    }

    private Value hostTensor(Pointer base, long offset, long bytes, int type, long... shape) {
        return DeviceMemory.tensor(host, base, offset, bytes, type, shape);
    }

    @Override
    public void close() {
        try {
            memory.close();
        } finally {
            devicePrefill.close();
            embedding.close();
            decoder.close();
            run.close();
            host.close();
        }
    }

    /**
     * The runs of one generation: its bindings and the reusable host memory of its inputs and outputs (native
     * memory, grown when a run needs more), so that a step allocates nothing but the tensor headers.
     */
    private final class Runs implements SlotDecoder {
        private final int vocab = config.vocabSize();
        private final int hidden = config.hiddenSize();
        private LongPointer ids = new LongPointer(1);
        private IntPointer seqlens = new IntPointer(1);
        private final IntPointer total = new IntPointer(1);
        private LongPointer positions = new LongPointer(1);
        private final LongPointer choiceCount = new LongPointer(1);
        private FloatPointer embeds = new FloatPointer(1);
        private FloatPointer logits = new FloatPointer(1);
        private LongPointer choiceIds = new LongPointer(1);
        private FloatPointer choiceLogProbs = new FloatPointer(1);

        @Override
        public SlotCache newCache(int slots, int positionCount) {
            int max = config.maxPositionEmbeddings();
            return new DeviceKvCache(memory, config, slots, Math.min(max, Math.max(1, positionCount)), max);
        }

        @Override
        public LanguageModelRunner.DecoderOutput prefill(SlotCache slots, int first, List<VisualPrefix> rows,
                                                         float[] pad, StepOutputs outputs) throws OrtException {
            DeviceKvCache cache = own(slots);
            SlotRun slotRun = SlotRun.prefill(first, rows);
            int onDevice = (int) rows.stream().filter(VisualPrefix::onDevice).count();
            if (onDevice == rows.size()) {
                return prefillOnDevice(cache, slotRun, rows, pad, outputs);
            }
            if (onDevice > 0) {
                throw new IllegalArgumentException("a prefill mixes prefixes on the device with host ones");
            }
            List<float[][]> prefixes = VisualPrefix.hostRows(rows);
            int n = slotRun.rows();
            int seq = slotRun.seq();
            long floats = (long) n * seq * hidden;
            embeds = fit(embeds, floats);
            for (int r = 0; r < n; r++) {
                float[][] p = prefixes.get(r);
                for (int t = 0; t < seq; t++) {
                    float[] row = t < p.length ? p[t] : pad;
                    if (row.length != hidden) {
                        throw new IllegalArgumentException("a prefix row must hold " + hidden + " floats, got "
                                + row.length);
                    }
                    embeds.position((r * (long) seq + t) * hidden).put(row);
                }
            }
            embeds.position(0);
            Out out = outputs(outputs, n, 1);
            long bytes = floats * Float.BYTES;
            try (Value e = hostTensor(embeds, 0, bytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, n, seq, hidden)) {
                long[] moved = decode(e, cache, slotRun, out);
                traffic.prefill(bytes + moved[0], moved[1]);
            }
            return out.result();
        }

        /**
         * The prefill of prefixes whose image part is on the device: the input is assembled there
         * ({@link DevicePrefill}) and bound as it is; only the prompt rows and the gather indices cross.
         */
        private LanguageModelRunner.DecoderOutput prefillOnDevice(DeviceKvCache cache, SlotRun slotRun,
                                                                  List<VisualPrefix> rows, float[] pad,
                                                                  StepOutputs outputs) throws OrtException {
            int n = slotRun.rows();
            int seq = slotRun.seq();
            long floats = (long) n * seq * hidden;
            Out out = outputs(outputs, n, 1);
            Pointer deviceEmbeds = memory.allocate(floats * Float.BYTES);
            try (Value e = memory.floats(deviceEmbeds, 0, floats, n, seq, hidden)) {
                long assembled;
                try {
                    assembled = devicePrefill.assemble(rows, seq, hidden, pad, memory.info(), deviceEmbeds, host);
                } catch (RuntimeException ex) {
                    throw new OrtException("device-bound prefill failed: " + ex.getMessage());
                }
                long[] moved = decode(e, cache, slotRun, out);
                traffic.prefill(assembled + moved[0], moved[1]);
            } finally {
                memory.free(deviceEmbeds);
            }
            return out.result();
        }

        @Override
        public LanguageModelRunner.DecoderOutput feed(SlotCache slots, int n, long[] tokens, int seq,
                                                      boolean allPositions, StepOutputs outputs) throws OrtException {
            DeviceKvCache cache = own(slots);
            LanguageModelRunner.checkTokenIds(tokens, n * seq, vocab);
            int k = allPositions ? seq : 1;
            Out out = outputs(outputs, n, k);
            if (seq == 1 || n == 1) {
                step(tokens, 0, cache, 0, n, seq, out);
            } else { // ONNX Runtime's CPU kernel runs several tokens after a cache one row at a time
                for (int r = 0; r < n; r++) {
                    step(tokens, r * seq, cache, r, 1, seq, out.row(r));
                }
            }
            return out.result();
        }

        /** The embedding of the fed tokens, on the device, then the decoder over it. */
        private void step(long[] tokens, int from, DeviceKvCache cache, int first, int n, int seq, Out out)
                throws OrtException {
            SlotRun slotRun = SlotRun.feed(cache, first, n, seq, out.k);
            long idBytes = (long) n * seq * Long.BYTES;
            ids = fit(ids, (long) n * seq);
            ids.put(tokens, from, n * seq);
            // the step's token embeddings, on the device from the embedding graph into the decoder (an arena block)
            Pointer deviceEmbeds = memory.allocate((long) n * seq * hidden * Float.BYTES);
            try (Value idTensor = hostTensor(ids, 0, idBytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, n, seq);
                 Value e = memory.floats(deviceEmbeds, 0, (long) n * seq * hidden, n, seq, hidden);
                 IoBinding b = new IoBinding(embedding)) {
                b.BindInput(LlamaGraphs.INPUT_IDS, idTensor);
                b.BindOutput(LlamaGraphs.INPUTS_EMBEDS, e);
                runChecked(embedding, b);
                long[] moved = decode(e, cache, slotRun, out);
                traffic.step(idBytes + moved[0], moved[1]);
            } finally {
                memory.free(deviceEmbeds);
            }
        }

        /**
         * One decoder run over {@code slotRun}'s slots, the rows' lengths recorded after it.
         *
         * @return bytes host to device and device to host besides {@code embeds}
         */
        private long[] decode(Value embeds, DeviceKvCache cache, SlotRun slotRun, Out out) throws OrtException {
            int k = out.k;
            int n = slotRun.rows();
            int first = slotRun.first();
            seqlens = fit(seqlens, n);
            seqlens.put(slotRun.seqlensK());
            positions = fit(positions, (long) n * k);
            positions.put(slotRun.logitPositions());
            slotRun.reserve(cache);
            total.put(0, slotRun.total());
            choiceCount.put(0, Math.max(out.choices, 1));
            long toDevice = (long) n * Integer.BYTES + Integer.BYTES + (long) n * k * Long.BYTES;
            long toHost = 0;
            try (Value s = hostTensor(seqlens, 0, (long) n * Integer.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, n);
                 Value t = hostTensor(total, 0, Integer.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, 1);
                 Value p = hostTensor(positions, 0, (long) n * k * Long.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                         n, k);
                 Value c = hostTensor(choiceCount, 0, Long.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, 1);
                 Value l = out.logits == null ? null : hostTensor(out.logits, out.logitsFrom * Float.BYTES,
                         (long) n * k * vocab * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, n, k, vocab);
                 Value ci = out.choices == 0 ? null : hostTensor(out.ids, out.choicesFrom * Long.BYTES,
                         (long) n * k * out.choices * Long.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                         n, k, out.choices);
                 Value cl = out.choices == 0 ? null : hostTensor(out.logProbs, out.choicesFrom * Float.BYTES,
                         (long) n * k * out.choices * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                         n, k, out.choices);
                 IoBinding b = new IoBinding(decoder)) {
                b.BindInput(LlamaGraphs.INPUTS_EMBEDS, embeds);
                b.BindInput(FusedLlamaGraphs.SEQLENS_K, s);
                b.BindInput(FusedLlamaGraphs.TOTAL_SEQUENCE_LENGTH, t);
                b.BindInput(FusedLlamaGraphs.LOGITS_POSITIONS, p);
                if (choices) { // an input of the graph even when its outputs are not asked for
                    b.BindInput(TokenChoiceHead.CHOICE_COUNT, c);
                    toDevice += Long.BYTES;
                }
                if (l != null) {
                    b.BindOutput(LlamaGraphs.LOGITS, l);
                    toHost += (long) n * k * vocab * Float.BYTES;
                }
                if (ci != null) {
                    b.BindOutput(TokenChoiceHead.CHOICE_IDS, ci);
                    b.BindOutput(TokenChoiceHead.CHOICE_LOG_PROBS, cl);
                    toHost += (long) n * k * out.choices * (Long.BYTES + Float.BYTES);
                }
                for (int i = 0; i < config.numHiddenLayers(); i++) {
                    Value key = cache.key(i, first, n);
                    Value value = cache.value(i, first, n);
                    b.BindInput(LlamaGraphs.pastKey(i), key);
                    b.BindInput(LlamaGraphs.pastValue(i), value);
                    b.BindOutput(LlamaGraphs.presentKey(i), key);
                    b.BindOutput(LlamaGraphs.presentValue(i), value);
                }
                runChecked(decoder, b);
            }
            slotRun.commit(cache);
            return new long[] {toDevice, toHost};
        }

        private Out outputs(StepOutputs asked, int n, int k) {
            int c = Math.min(asked.choices(), vocab);
            if (c > 0 && !choices) {
                throw new IllegalArgumentException("this decoder graph has no token-choice outputs");
            }
            if (asked.logits()) {
                logits = fit(logits, (long) n * k * vocab);
            }
            if (c > 0) {
                choiceIds = fit(choiceIds, (long) n * k * c);
                choiceLogProbs = fit(choiceLogProbs, (long) n * k * c);
            }
            return new Out(asked.logits() ? logits : null, 0, c > 0 ? choiceIds : null, c > 0 ? choiceLogProbs : null,
                    0, n, k, vocab, c);
        }
    }

    /** Where a run's outputs go in host memory: logits from float logitsFrom, choices from cell choicesFrom. */
    private record Out(FloatPointer logits, long logitsFrom, LongPointer ids, FloatPointer logProbs, long choicesFrom,
                       int n, int k, int vocab, int choices) {
        /** Row {@code r}'s part (n = 1). */
        Out row(int r) {
            return new Out(logits, logitsFrom + (long) r * k * vocab, ids, logProbs, choicesFrom + (long) r * k * choices,
                    1, k, vocab, choices);
        }

        LanguageModelRunner.DecoderOutput result() {
            java.nio.FloatBuffer l = logits == null ? null
                    : logits.position(0).limit((long) n * k * vocab).asBuffer();
            java.nio.LongBuffer ci = ids == null ? null : ids.position(0).limit((long) n * k * choices).asBuffer();
            java.nio.FloatBuffer cl = logProbs == null ? null
                    : logProbs.position(0).limit((long) n * k * choices).asBuffer();
            return new LanguageModelRunner.DecoderOutput(l, n, k, vocab, null, ci, cl, choices);
        }
    }

    private static DeviceKvCache own(SlotCache cache) {
        if (cache instanceof DeviceKvCache device) {
            return device;
        }
        throw new IllegalArgumentException("not a cache of this decoder: " + cache.getClass().getSimpleName());
    }

    private static LongPointer fit(LongPointer p, long n) {
        if (p.capacity() >= n) {
            return p.position(0);
        }
        p.close();
        return new LongPointer(n);
    }

    private static IntPointer fit(IntPointer p, long n) {
        if (p.capacity() >= n) {
            return p.position(0);
        }
        p.close();
        return new IntPointer(n);
    }

    private static FloatPointer fit(FloatPointer p, long n) {
        if (p.capacity() >= n) {
            return p.position(0);
        }
        p.close();
        return new FloatPointer(n);
    }
}
