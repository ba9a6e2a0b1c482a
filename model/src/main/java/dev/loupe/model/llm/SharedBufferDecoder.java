package dev.loupe.model.llm;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.onnx.DirectFloatPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a fused decoder ({@link FusedLlamaGraphs}, {@link FusedOptGraphs}) over a {@link SharedKvCache}: a prefill
 * writes right-padded rows into consecutive slots, a step feeds tokens after each slot's own length, and ONNX Runtime
 * writes the new keys and values into the cache's buffers in place and the logits and/or token choices ({@link
 * TokenChoiceHead}, as the run's {@link StepOutputs} ask) into this object's reusable memory. Inputs (token ids,
 * per-row lengths, logit positions from {@link SlotRun}) also live in reusable direct memory, so a step allocates no
 * direct memory. Belongs to one
 * generation (not thread-safe); the runner's sessions are shared.
 */
final class SharedBufferDecoder implements SlotDecoder {
    private final LanguageModelRunner runner;
    private final int vocab;
    private final int hidden;
    /** The inputs of the runs one after another (steps, whole prefills). */
    private final RunInputs inputs = new RunInputs();
    /** The inputs of a prefill's parts, one per part run side by side. */
    private RunInputs[] partInputs = new RunInputs[0];
    private FloatBuffer logits = floats(0);
    private LongBuffer choiceIds = longs(0);
    private FloatBuffer choiceLogProbs = floats(0);

    SharedBufferDecoder(LanguageModelRunner runner) {
        if (!runner.sharedBufferCache()) {
            throw new IllegalArgumentException("the decoder graph has no shared-buffer cache");
        }
        this.runner = runner;
        this.vocab = runner.config().vocabSize();
        this.hidden = runner.config().hiddenSize();
    }

    LanguageModelRunner runner() {
        return runner;
    }

    @Override
    public SharedKvCache newCache(int slots, int positions) {
        int max = runner.config().maxPositionEmbeddings();
        return new SharedKvCache(runner.environment(), runner.kvBufferPool(), runner.config(),
                runner.kvElementType(), slots,
                Math.min(max, Math.max(1, positions)), max);
    }

    /**
     * System property: the parts a prefill's rows are cut into (at most one per row), run side by side on the shared
     * pool, as many at once as it has threads (1 = one run of all rows); by default {@link #prefillParts} for an
     * int8 decoder and 1 for the others ({@link LanguageModelRunner#prefillsInParts()}). For measurements and tests.
     */
    static final String PREFILL_PARTS_PROPERTY = "loupe.ort.prefill-parts";

    /**
     * Rows per part of a prefill in parts, at most, where the pool has fewer threads than that leaves parts: the
     * parts running at once hold the prefill's activations (each MatMul's input, its fp32 and uint8 row-quantized
     * copies and its output, per part), and the prefill is where an int8 run's resident memory peaks at batch 16
     * (docs/benchmarks.md, "Peak RSS: the prefill in parts of 4 rows"): two parts of 4 rows at once hold half of
     * what two of 8 hold, at the same CPU time per row.
     */
    static final int PREFILL_PART_ROWS = 4;

    /**
     * The parts a prefill of {@code rows} rows is cut into on a pool of {@code threads} threads: {@code asked} (the
     * {@link #PREFILL_PARTS_PROPERTY}) where given; else, in parts ({@code inParts}) on a pool of several threads,
     * one per thread and more where that leaves parts over {@link #PREFILL_PART_ROWS} rows; else 1 (one thread, or
     * a GPU, whose runs go one after another, runs the prefill whole as before). Never more than one per row.
     */
    static int prefillParts(int rows, int threads, boolean inParts, Integer asked) {
        int parts;
        if (asked != null) {
            parts = asked;
        } else if (inParts && threads > 1) {
            parts = Math.max(threads, (rows + PREFILL_PART_ROWS - 1) / PREFILL_PART_ROWS);
        } else {
            parts = 1;
        }
        return Math.max(1, Math.min(rows, parts));
    }

    /**
     * The prefill of {@code prefixes} into slots [first, first + prefixes.size()), which must hold nothing yet
     * that matters: right-padded with {@code padEmbedding} to the longest; the logits are each row's at its last
     * prefix position, [rows, 1, vocab], valid until the next run.
     *
     * <p>On the CPU an int8 decoder's rows are cut into consecutive parts, one per thread of the shared pool, that run
     * side by side over their own slots (one session, no weights copied; each part padded to its own longest row):
     * one run of 16 rows leaves the pool's second thread waiting between operators and takes more CPU time than two
     * runs of 8 (docs/benchmarks.md, "int8 batch 16: the decoder's prefill in parts side by side"); an fp32 decoder's
     * prefill runs whole (in parts it was slower in {@code loupe bench}). A row's result is what it
     * is alone either way (batch and padding invariance of the fused decoder).
     */
    @Override
    public LanguageModelRunner.DecoderOutput prefill(SlotCache slots, int first, List<VisualPrefix> rows,
                                                     float[] padEmbedding, StepOutputs outputs) throws OrtException {
        SharedKvCache cache = own(slots);
        SlotRun whole = SlotRun.prefill(first, rows);
        int n = whole.rows();
        Outputs out = outputs(outputs, n, 1);
        int parts = prefillParts(n, runner.prefillRuns().threads(), runner.prefillsInParts(),
                Integer.getInteger(PREFILL_PARTS_PROPERTY));
        if (parts <= 1) {
            try (DirectFloatPool.Lease memory = runner.prefillEmbedBuffers().take(n * whole.seq() * hidden);
                 OnnxTensor e = prefillEmbeds(rows, padEmbedding, whole.seq(), memory.buffer())) {
                run(e, cache, whole, out, inputs, null);
            }
            return out.result();
        }
        whole.reserve(cache); // the cache grows once, before any part's views are made
        ensurePartInputs(parts);
        SlotRun[] runs = new SlotRun[parts];
        List<List<VisualPrefix>> partRows = new ArrayList<>(parts);
        SharedKvCache.LayerViews[] views = new SharedKvCache.LayerViews[parts];
        Outputs[] outs = new Outputs[parts];
        try {
            for (int p = 0; p < parts; p++) {
                int from = p * n / parts;
                int to = (p + 1) * n / parts;
                partRows.add(rows.subList(from, to));
                runs[p] = SlotRun.prefill(first + from, partRows.get(p));
                views[p] = cache.newViews(first + from, to - from);
                outs[p] = out.rows(from, to - from);
            }
            runner.prefillRuns().forEach(parts, p -> {
                int size = Math.multiplyExact(partRows.get(p).size() * runs[p].seq(), hidden);
                try (DirectFloatPool.Lease memory = runner.prefillEmbedBuffers().take(size);
                     OnnxTensor e = prefillEmbeds(partRows.get(p), padEmbedding, runs[p].seq(), memory.buffer())) {
                    run(e, cache, runs[p], outs[p], partInputs[p], views[p]);
                }
            });
        } finally {
            for (int p = 0; p < parts; p++) {
                if (views[p] != null) {
                    views[p].close();
                }
            }
        }
        for (SlotRun run : runs) {
            run.commit(cache);
        }
        return out.result();
    }

    /**
     * {@code rows}' prefixes right-padded with {@code padEmbedding} to {@code seq} positions, [rows, seq, hidden],
     * written into {@code memory} (direct, of exactly that size, from the runner's pool): ONNX Runtime reads it in
     * place, where a heap array would be copied into a fresh direct buffer on every prefill (freed only when a
     * collection finds it: 1.4 MB at batch 16 of the benchmark model) besides the array's own garbage.
     */
    private OnnxTensor prefillEmbeds(List<VisualPrefix> rows, float[] padEmbedding, int seq, FloatBuffer memory)
            throws OrtException {
        List<float[][]> prefixes = VisualPrefix.hostRows(rows);
        int n = prefixes.size();
        for (int r = 0; r < n; r++) {
            float[][] p = prefixes.get(r);
            for (int t = 0; t < seq; t++) {
                memory.put((r * seq + t) * hidden, t < p.length ? p[t] : padEmbedding, 0, hidden);
            }
        }
        return OnnxTensor.createTensor(runner.environment(), memory, new long[] {n, seq, hidden});
    }

    /** {@link #prefill(SharedKvCache, int, List, float[], StepOutputs)} returning the logits. */
    LanguageModelRunner.DecoderOutput prefill(SharedKvCache cache, int first, List<float[][]> prefixes,
                                              float[] padEmbedding) throws OrtException {
        return prefill(cache, first, VisualPrefix.onHost(prefixes), padEmbedding, StepOutputs.LOGITS);
    }

    /** {@link #feed(SharedKvCache, int, long[], int, boolean, StepOutputs)} returning the logits. */
    LanguageModelRunner.DecoderOutput feed(SharedKvCache cache, int n, long[] tokens, int seq, boolean allPositions)
            throws OrtException {
        return feed(cache, n, tokens, seq, allPositions, StepOutputs.LOGITS);
    }

    /**
     * Feeds {@code seq} tokens per slot ({@code tokens} flat [n, seq]) to slots [0, n) after their cached
     * positions; the logits are [n, seq or 1, vocab] (every fed position, or the last only), valid until the next
     * run. ONNX Runtime runs more than one token after a cache for one row at a time, so such a feed runs row by row.
     */
    @Override
    public LanguageModelRunner.DecoderOutput feed(SlotCache slots, int n, long[] tokens, int seq,
                                                  boolean allPositions, StepOutputs outputs) throws OrtException {
        SharedKvCache cache = own(slots);
        LanguageModelRunner.checkTokenIds(tokens, n * seq, vocab);
        int k = allPositions ? seq : 1;
        Outputs out = outputs(outputs, n, k);
        int parts = seq == 1 ? stepParts(n) : 1;
        if (parts > 1) {
            feedInParts(cache, n, tokens, parts, out);
        } else if (seq == 1 || n == 1) {
            run(tokens, 0, cache, SlotRun.feed(cache, 0, n, seq, k), out, inputs, null);
        } else {
            for (int r = 0; r < n; r++) {
                run(tokens, r, cache, SlotRun.feed(cache, r, 1, seq, k), out.row(r), inputs, null);
            }
        }
        return out.result();
    }

    /**
     * System property: the most parts a one-token step's rows are cut into, run side by side (default 1: one run of
     * all rows). Alone, an int8 step of 16 rows in two parts took 0.97-1.23x the time of one run (1.4-1.7x for the
     * graph alone), inside {@code loupe bench} no gain showed on the loaded machine (docs/benchmarks.md, "int8
     * decoder: packed projections and the steps in parts side by side"): for measurements on a quiet machine.
     */
    static final String STEP_PARTS_PROPERTY = "loupe.ort.step-parts";

    /** Parts a one-token step of {@code n} rows runs in; see {@link #feedInParts}. */
    int stepParts(int n) {
        if (!runner.floatEmbeddings()) {
            return 1;
        }
        int asked = Integer.getInteger(STEP_PARTS_PROPERTY, 1);
        return Math.min(n, Math.min(asked, Math.min(runner.prefillRuns().threads(), SharedKvCache.KEPT_VIEWS)));
    }

    /**
     * A one-token step of slots [0, n) cut into consecutive parts that run side by side on the shared pool, each over
     * its own slots with the cache's kept views of them (nothing made per step), when {@link #STEP_PARTS_PROPERTY}
     * asks for it. A row's result is what it is in one run (batch invariance).
     */
    private void feedInParts(SharedKvCache cache, int n, long[] tokens, int parts, Outputs out) throws OrtException {
        SlotRun.feed(cache, 0, n, 1, out.k()).reserve(cache); // the cache grows once, before any views are taken
        ensurePartInputs(parts);
        SlotRun[] runs = new SlotRun[parts];
        SharedKvCache.LayerViews[] views = new SharedKvCache.LayerViews[parts];
        Outputs[] outs = new Outputs[parts];
        int[] from = new int[parts];
        for (int p = 0; p < parts; p++) {
            from[p] = p * n / parts;
            int count = (p + 1) * n / parts - from[p];
            runs[p] = SlotRun.feed(cache, from[p], count, 1, out.k());
            views[p] = cache.views(from[p], count);
            outs[p] = out.rows(from[p], count);
        }
        runner.prefillRuns().forEach(parts, p -> run(tokens, from[p], cache, runs[p], outs[p], partInputs[p], views[p]));
        for (SlotRun run : runs) {
            run.commit(cache);
        }
    }

    private void ensurePartInputs(int parts) {
        if (partInputs.length < parts) {
            partInputs = Arrays.copyOf(partInputs, parts);
            for (int i = 0; i < parts; i++) {
                if (partInputs[i] == null) {
                    partInputs[i] = new RunInputs();
                }
            }
        }
    }

    /**
     * Where one run's outputs go: [n, k, vocab] logits and/or [n, k, choices] token choices, in this object's
     * reusable memory (null when not asked for).
     */
    private static SharedKvCache own(SlotCache cache) {
        if (cache instanceof SharedKvCache shared) {
            return shared;
        }
        throw new IllegalArgumentException("not a cache of this decoder: " + cache.getClass().getSimpleName());
    }

    private record Outputs(FloatBuffer logits, LongBuffer ids, FloatBuffer logProbs, int n, int k, int vocab,
                           int choices) {
        /** Row {@code r}'s part (n = 1). */
        Outputs row(int r) {
            return rows(r, 1);
        }

        /** Rows [from, from + count)'s part. */
        Outputs rows(int from, int count) {
            return new Outputs(slice(logits, from * k * vocab, count * k * vocab),
                    slice(ids, from * k * choices, count * k * choices),
                    slice(logProbs, from * k * choices, count * k * choices), count, k, vocab, choices);
        }

        LanguageModelRunner.DecoderOutput result() {
            return new LanguageModelRunner.DecoderOutput(logits, n, k, vocab, null, ids, logProbs, choices);
        }

        private static FloatBuffer slice(FloatBuffer b, int from, int length) {
            return b == null ? null : b.duplicate().position(from).limit(from + length).slice();
        }

        private static LongBuffer slice(LongBuffer b, int from, int length) {
            return b == null ? null : b.duplicate().position(from).limit(from + length).slice();
        }
    }

    private Outputs outputs(StepOutputs asked, int n, int k) {
        int choices = Math.min(asked.choices(), vocab);
        if (choices > 0 && !runner.offersChoices()) {
            throw new IllegalArgumentException("this decoder graph has no token-choice outputs");
        }
        FloatBuffer l = asked.logits() ? logits(n * k * vocab) : null;
        if (choices == 0) {
            return new Outputs(l, null, null, n, k, vocab, 0);
        }
        if (choiceIds.capacity() < n * k * choices) {
            choiceIds = longs(Math.max(n * k * choices, choiceIds.capacity() * 2));
            choiceLogProbs = floats(choiceIds.capacity());
        }
        return new Outputs(l, choiceIds.clear().limit(n * k * choices).slice(),
                choiceLogProbs.clear().limit(n * k * choices).slice(), n, k, vocab, choices);
    }

    /**
     * The embedding of {@code slotRun}'s tokens (from {@code tokens[from..]}) and the decoder run over them, with
     * {@code in}'s input memory, over {@code views} (null: the cache's views, see below).
     */
    private void run(long[] tokens, int from, SharedKvCache cache, SlotRun slotRun, Outputs out, RunInputs in,
                     SharedKvCache.LayerViews views) throws OrtException {
        int n = slotRun.rows();
        int seq = slotRun.seq();
        in.ids = fit(in.ids, n * seq);
        in.ids.put(0, tokens, from * seq, n * seq);
        long[] shape = {n, seq};
        if (!runner.floatEmbeddings()) { // e.g. float16 tables: convert to the decoder's float32 in Java
            long[] slice = Arrays.copyOfRange(tokens, from * seq, (from + n) * seq);
            try (OnnxTensor e = OnnxTensor.createTensor(runner.environment(),
                    FloatBuffer.wrap(runner.embed(slice, n, seq)), new long[] {n, seq, hidden})) {
                run(e, cache, slotRun, out, in, views);
            }
            return;
        }
        try (OnnxTensor idTensor = OnnxTensor.createTensor(runner.environment(), in.ids, shape);
             OrtSession.Result embedded = runner.embeddingSession().run(Map.of(LlamaGraphs.INPUT_IDS, idTensor))) {
            run((OnnxTensor) embedded.get(0), cache, slotRun, out, in, views);
        }
    }

    /**
     * One decoder run over {@code slotRun}'s slots with {@code in}'s input memory, over {@code views} (or the cache's
     * own views of the slots when null, the rows' lengths then recorded after the run; with views, the cache must
     * already hold the slots and the caller records the lengths).
     */
    private void run(OnnxTensor embeds, SharedKvCache cache, SlotRun slotRun, Outputs out, RunInputs in,
                     SharedKvCache.LayerViews views) throws OrtException {
        int k = out.k();
        int n = slotRun.rows();
        int first = slotRun.first();
        in.seqlens = fit(in.seqlens, n);
        in.seqlens.put(0, slotRun.seqlensK());
        in.positions = fit(in.positions, n * k);
        in.positions.put(0, slotRun.logitPositions());
        if (views == null) {
            slotRun.reserve(cache);
        }
        in.total.put(0, slotRun.total());
        var env = runner.environment();
        try (OnnxTensor s = OnnxTensor.createTensor(env, in.seqlens, new long[] {n});
             OnnxTensor t = OnnxTensor.createTensor(env, in.total, new long[] {1});
             OnnxTensor p = OnnxTensor.createTensor(env, in.positions, new long[] {n, k});
             OnnxTensor c = OnnxTensor.createTensor(env, in.choiceCount, new long[] {1});
             OnnxTensor l = out.logits() == null ? null
                     : OnnxTensor.createTensor(env, out.logits(), new long[] {n, k, vocab});
             OnnxTensor ci = out.ids() == null ? null
                     : OnnxTensor.createTensor(env, out.ids(), new long[] {n, k, out.choices()});
             OnnxTensor cl = out.logProbs() == null ? null
                     : OnnxTensor.createTensor(env, out.logProbs(), new long[] {n, k, out.choices()})) {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            Map<String, OnnxTensor> pinned = new HashMap<>();
            feeds.put(LlamaGraphs.INPUTS_EMBEDS, embeds);
            feeds.put(FusedLlamaGraphs.SEQLENS_K, s);
            feeds.put(FusedLlamaGraphs.TOTAL_SEQUENCE_LENGTH, t);
            feeds.put(FusedLlamaGraphs.LOGITS_POSITIONS, p);
            if (runner.offersChoices()) { // an input of the graph even when its outputs are not asked for
                in.choiceCount.put(0, Math.max(out.choices(), 1));
                feeds.put(TokenChoiceHead.CHOICE_COUNT, c);
            }
            if (l != null) {
                pinned.put(LlamaGraphs.LOGITS, l);
            }
            if (ci != null) {
                pinned.put(TokenChoiceHead.CHOICE_IDS, ci);
                pinned.put(TokenChoiceHead.CHOICE_LOG_PROBS, cl);
            }
            for (int i = 0; i < runner.config().numHiddenLayers(); i++) {
                OnnxTensor key = views == null ? cache.key(i, first, n) : views.keys()[i];
                OnnxTensor value = views == null ? cache.value(i, first, n) : views.values()[i];
                feeds.put(LlamaGraphs.pastKey(i), key);
                feeds.put(LlamaGraphs.pastValue(i), value);
                pinned.put(LlamaGraphs.presentKey(i), key);
                pinned.put(LlamaGraphs.presentValue(i), value);
            }
            runner.decoderSession().run(feeds, java.util.Set.of(), pinned).close();
        }
        if (views == null) {
            slotRun.commit(cache);
        }
    }

    /** The direct memory of one run's small inputs (per-row lengths, logit positions, choice count), reused. */
    private static final class RunInputs {
        private LongBuffer ids = longs(1);
        private IntBuffer seqlens = ints(1);
        private final IntBuffer total = ints(1);
        private LongBuffer positions = longs(1);
        private final LongBuffer choiceCount = longs(1);
    }

    private FloatBuffer logits(int n) {
        if (logits.capacity() < n) {
            logits = floats(Math.max(n, logits.capacity() * 2));
        }
        return logits.clear().limit(n).slice();
    }

    private static LongBuffer fit(LongBuffer b, int n) {
        LongBuffer big = b.capacity() >= n ? b : longs(Math.max(n, b.capacity() * 2));
        return big.clear().limit(n).slice();
    }

    private static IntBuffer fit(IntBuffer b, int n) {
        IntBuffer big = b.capacity() >= n ? b : ints(Math.max(n, b.capacity() * 2));
        return big.clear().limit(n).slice();
    }

    private static LongBuffer longs(int n) {
        return ByteBuffer.allocateDirect(n * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    private static IntBuffer ints(int n) {
        return ByteBuffer.allocateDirect(n * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
    }

    private static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
