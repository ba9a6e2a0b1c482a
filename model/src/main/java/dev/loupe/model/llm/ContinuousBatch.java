package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decoder-only generation whose rows join and leave at step boundaries (continuous, or iteration-level, batching):
 * {@link #admit} runs the prefill of new rows (left-padded among themselves, as {@link PaddedPrefill}) and picks
 * their first tokens; {@link #step} feeds every active row's last token in one decoder run and picks the next ones.
 * A row leaves the moment it finishes (an end-of-sequence id, its own max_new_tokens), and each row keeps its own
 * settings (greedy or sampling with its own seed, repetition penalty, min/max new tokens) through
 * {@link TokenPicker} (or, where the package offers them and its settings allow, its top choices:
 * {@link TokenChoices}), so it picks the tokens it would pick alone.
 *
 * <p>The KV cache is left-aligned padding, right-aligned data: a row's cached positions are the last {@code valid}
 * columns, masked before them, its position ids continuing from its own length. When rows have joined since the
 * last step, the caches are packed into one ({@link PackedDecoder#pack}) holding only live rows and only as many
 * columns as the longest live row needs; otherwise a step feeds the previous step's cache as it is, a finished row's
 * slot staying in it, unused, while that wastes less than a repack would cost. A T5 encoder-decoder batches this way
 * too ({@link dev.loupe.model.t5.T5Rows}: its rows' encoder outputs are packed with their caches).
 *
 * <p>With a {@link FusedLlamaGraphs} decoder the rows live in the slots of one {@link SlotCache} instead
 * ({@link SharedKvCache}, or {@link DeviceKvCache} through {@link DeviceBoundDecoder#continuousBatch}):
 * an admission's prefill writes the joining rows into the free slots after the active ones, every step decodes
 * exactly the active rows (the cache written in place), and a finished row's slot is refilled by moving the last
 * row into it, so nothing is repacked.
 *
 * <p>One-beam decoding only (beam search and candidate ranking keep whole-request batches). Not thread-safe; after
 * an exception the batch is unusable: close it. Closing frees its caches.
 *
 * @param <T> the caller's tag of a row (handed back with its result)
 */
public final class ContinuousBatch<T> implements AutoCloseable {

    /**
     * A request joining the batch.
     *
     * @param prefix  its decoder input, len &gt;= 1 positions of hidden floats (host rows, or for the device-bound
     *                runner an image part on the device); the caller keeps it and may close it once admitted
     * @param context the ids its repetition penalty sees besides the generated ones ({@link StepDecoder#penaltyContext})
     * @param config  its settings, one beam and one returned sequence; the seed seeds its random stream when sampling
     */
    public record Joining<T>(T tag, VisualPrefix prefix, int[] context, GenerationConfig config) {
        public Joining {
            if (config.numBeams() != 1 || config.numReturnSequences() != 1) {
                throw new IllegalArgumentException("continuous batching decodes one beam and one sequence per row, "
                        + "got " + config.numBeams() + " beams, " + config.numReturnSequences() + " sequences");
            }
        }

        /** A request whose prefix is host rows [len][hidden]. */
        public Joining(T tag, float[][] prefix, int[] context, GenerationConfig config) {
            this(tag, VisualPrefix.onHost(prefix), context, config);
        }
    }

    /** A row that finished, with its generated sequence. */
    public record Finished<T>(T tag, GeneratedSequence sequence) {}

    /**
     * What repacking the cache costs, in decoder steps of the same batch: measured on CPU with the benchmark model
     * (a repack of 16 rows took about as long as two steps), an estimate elsewhere.
     */
    static final int REPACK_STEPS = 2;

    /** The runs over packed caches (null when the rows live in one {@link SlotCache}). */
    private final PackedDecoder packed;
    private final int vocabSize;
    private final int inputWidth;
    private final boolean offersChoices;
    private final long padTokenId;
    private final float[] padEmbedding;
    private final int[] eos;
    private final boolean keepFirstLogits;
    private final TokenPicker picker;
    private final float[] raw;
    private int[] choiceIds = new int[0];
    private float[] choiceLogProbs = new float[0];
    private final List<Row<T>> rows = new ArrayList<>();
    /** The caches the active rows live in: one after a step, more after admissions. */
    private final List<PackedDecoder.Caches> sources = new ArrayList<>();
    /** With a {@link FusedLlamaGraphs} decoder: its runs, and the one cache whose slots [0, rows) are the rows. */
    private final SlotDecoder shared;
    private SlotCache sharedCache;
    private final GenerationClock clock;

    /**
     * @param padTokenId      the token whose embedding left-pads prefixes of one admission
     * @param eos             ids that end a row
     * @param keepFirstLogits whether each finished sequence carries its first step's raw logits
     */
    public ContinuousBatch(LanguageModelRunner runner, long padTokenId, int[] eos, boolean keepFirstLogits)
            throws OrtException {
        this(runner, padTokenId, eos, keepFirstLogits, new GenerationClock());
    }

    /** As above, timing its prefills and steps on {@code clock}. */
    public ContinuousBatch(LanguageModelRunner runner, long padTokenId, int[] eos, boolean keepFirstLogits,
                           GenerationClock clock) throws OrtException {
        this(runner, checkedPad(runner.config().vocabSize(), padTokenId),
                runner.embed(new long[] {padTokenId}, 1, 1), eos, keepFirstLogits, clock);
    }

    private ContinuousBatch(LanguageModelRunner runner, long padTokenId, float[] padEmbedding, int[] eos,
                            boolean keepFirstLogits, GenerationClock clock) {
        this(runner.sharedBufferCache() ? null : new RunnerRows(runner, padTokenId, padEmbedding),
                runner.sharedBufferCache() ? new SharedBufferDecoder(runner) : null, runner.config().vocabSize(),
                runner.config().hiddenSize(), runner.offersChoices(), padTokenId, eos, keepFirstLogits, padEmbedding,
                clock);
    }

    /** A batch whose rows live in the slots of {@code slots}' caches ({@link DeviceBoundDecoder}). */
    ContinuousBatch(SlotDecoder slots, DecoderConfig config, boolean offersChoices, long padTokenId, int[] eos,
                    boolean keepFirstLogits, float[] padEmbedding, GenerationClock clock) {
        this(null, slots, config.vocabSize(), config.hiddenSize(), offersChoices,
                checkedPad(config.vocabSize(), padTokenId), eos, keepFirstLogits, padEmbedding, clock);
    }

    /**
     * A batch over {@code packed}'s runs (a T5 encoder-decoder: {@link dev.loupe.model.t5.T5StepDecoder}), whose
     * logits are {@code vocabSize} wide and whose prefixes are rows of {@code inputWidth} floats.
     */
    public ContinuousBatch(PackedDecoder packed, int vocabSize, int inputWidth, boolean offersChoices, int[] eos,
                           boolean keepFirstLogits, GenerationClock clock) {
        this(packed, null, vocabSize, inputWidth, offersChoices, checkedPad(vocabSize, packed.padTokenId()), eos,
                keepFirstLogits, null, clock);
    }

    private static long checkedPad(int vocabSize, long padTokenId) {
        if (padTokenId < 0 || padTokenId >= vocabSize) {
            throw new IllegalArgumentException("pad token id " + padTokenId + " outside vocabulary");
        }
        return padTokenId;
    }

    private ContinuousBatch(PackedDecoder packed, SlotDecoder shared, int vocab, int inputWidth,
                            boolean offersChoices, long padTokenId, int[] eos, boolean keepFirstLogits,
                            float[] padEmbedding, GenerationClock clock) {
        for (int id : eos) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("eos id " + id + " outside vocabulary");
            }
        }
        this.packed = packed;
        this.vocabSize = vocab;
        this.inputWidth = inputWidth;
        this.offersChoices = offersChoices;
        this.padTokenId = padTokenId;
        this.padEmbedding = padEmbedding;
        this.eos = eos.clone();
        this.keepFirstLogits = keepFirstLogits;
        this.picker = new TokenPicker(vocab);
        this.raw = new float[vocab];
        this.shared = shared;
        this.clock = clock;
    }

    /** Rows decoding now. */
    public int size() {
        return rows.size();
    }

    /**
     * Runs the prefill of {@code joining} (one decoder run over them) and picks each one's first token; they decode
     * with the others from the next {@link #step}.
     *
     * @return the rows that finished at their first token
     */
    public List<Finished<T>> admit(List<Joining<T>> joining) throws OrtException {
        if (joining.isEmpty()) {
            return List.of();
        }
        long start = System.nanoTime();
        List<Finished<T>> finished = prefill(joining);
        clock.prefill(start, joining.size());
        return finished;
    }

    private List<Finished<T>> prefill(List<Joining<T>> joining) throws OrtException {
        List<VisualPrefix> prefixes = new ArrayList<>(joining.size());
        for (Joining<T> j : joining) {
            for (int id : j.context()) {
                if (id < 0 || id >= vocabSize) {
                    throw new IllegalArgumentException("context id " + id + " outside vocabulary");
                }
            }
            prefixes.add(j.prefix());
        }
        try {
            PaddedPrefill.validate(prefixes, inputWidth);
        } catch (dev.loupe.model.api.AnnotationException e) {
            throw new IllegalArgumentException("a prefix must be non-empty rows of " + inputWidth + " floats: "
                    + e.getMessage(), e);
        }
        if (shared != null) {
            return admitShared(joining, prefixes);
        }
        PackedDecoder.Run run = packed.prefill(prefixes,
                outputs(joining.stream().map(Joining::config).toList(), keepFirstLogits));
        LanguageModelRunner.DecoderOutput out = run.output();
        int source = sources.size();
        sources.add(run.caches());
        List<Finished<T>> finished = new ArrayList<>();
        for (int k = 0; k < joining.size(); k++) {
            Joining<T> j = joining.get(k);
            Row<T> row = new Row<>(j, source, k, packed.prefilledLength(j.prefix()));
            if (row.pick(out, row.slot)) {
                finished.add(row.result());
            } else {
                rows.add(row);
            }
        }
        return finished;
    }

    /**
     * Admission into the shared-buffer cache: the joining rows' prefill writes them straight into the free slots
     * after the active rows (the cache grows, copying what it holds, only when slots or positions run out).
     */
    private List<Finished<T>> admitShared(List<Joining<T>> joining, List<VisualPrefix> prefixes) throws OrtException {
        int first = rows.size();
        int positions = 0;
        for (Joining<T> j : joining) {
            positions = Math.max(positions, j.prefix().length() + j.config().maxNewTokens());
        }
        if (sharedCache == null) {
            sharedCache = shared.newCache(first + joining.size(), positions);
        }
        sharedCache.ensure(first + joining.size(), Math.min(positions, sharedCache.maxCapacity()));
        LanguageModelRunner.DecoderOutput out = shared.prefill(sharedCache, first, prefixes, padEmbedding,
                outputs(joining.stream().map(Joining::config).toList(), keepFirstLogits));
        List<Finished<T>> finished = new ArrayList<>();
        List<Row<T>> joined = new ArrayList<>();
        for (int k = 0; k < joining.size(); k++) {
            Joining<T> j = joining.get(k);
            Row<T> row = new Row<>(j, 0, first + k, j.prefix().length());
            if (row.pick(out, k)) {
                finished.add(row.result());
            } else {
                joined.add(row);
            }
        }
        rows.addAll(joined);
        compactShared();
        return finished;
    }

    /** One step over the shared-buffer cache: every slot is an active row; finished rows' slots are refilled. */
    private List<Finished<T>> stepShared() throws OrtException {
        int n = rows.size();
        long[] ids = new long[n];
        for (Row<T> row : rows) {
            ids[row.slot] = row.last();
        }
        LanguageModelRunner.DecoderOutput out = shared.feed(sharedCache, n, ids, 1, false,
                outputs(rows.stream().map(row -> row.config).toList(), false));
        List<Finished<T>> finished = pickAll(out);
        compactShared();
        return finished;
    }

    /** Each active row's next token from its slot of a step's {@code out}; the finished rows leave the batch. */
    private List<Finished<T>> pickAll(LanguageModelRunner.DecoderOutput out) {
        List<Finished<T>> finished = new ArrayList<>();
        List<Row<T>> live = new ArrayList<>(rows.size());
        for (Row<T> row : rows) {
            row.valid++;
            if (row.pick(out, row.slot)) {
                finished.add(row.result());
            } else {
                live.add(row);
            }
        }
        rows.clear();
        rows.addAll(live);
        return finished;
    }

    /**
     * Keeps the active rows in slots [0, rows): each row beyond them moves into a slot a finished row left (a copy of
     * that row's cached positions only; the other rows stay where they are).
     */
    private void compactShared() {
        int n = rows.size();
        boolean[] taken = new boolean[Math.max(n, 1)];
        for (Row<T> row : rows) {
            if (row.slot < n) {
                taken[row.slot] = true;
            }
        }
        int free = 0;
        for (Row<T> row : rows) {
            if (row.slot >= n) {
                while (taken[free]) {
                    free++;
                }
                sharedCache.moveRow(row.slot, free);
                row.slot = free;
                taken[free] = true;
            }
        }
    }

    /**
     * One decoder run for every active row, feeding its last token; picks each row's next token.
     *
     * @return the rows that finished at this step (they have left the batch)
     */
    public List<Finished<T>> step() throws OrtException {
        return step(false);
    }

    /**
     * {@link #step()}, told whether rows are about to join (requests wait for free slots): the repack their joining
     * brings then also drops the finished rows' slots, so they are kept until then (unless they outnumber the live
     * rows).
     */
    public List<Finished<T>> step(boolean rowsWillJoin) throws OrtException {
        if (rows.isEmpty()) {
            return List.of();
        }
        long start = System.nanoTime();
        int n = rows.size();
        List<Finished<T>> finished = runStep(rowsWillJoin);
        clock.step(start, n);
        return finished;
    }

    private List<Finished<T>> runStep(boolean rowsWillJoin) throws OrtException {
        if (shared != null) {
            return stepShared();
        }
        PackedDecoder.Caches past = cacheForStep(rowsWillJoin);
        int slots = past.batch();
        long[] ids = new long[slots];
        int[] valid = new int[slots];
        Arrays.fill(ids, padTokenId);
        Arrays.fill(valid, -1);
        for (Row<T> row : rows) {
            ids[row.slot] = row.last();
            valid[row.slot] = row.valid;
        }
        PackedDecoder.Run run = packed.step(ids, past, valid,
                outputs(rows.stream().map(row -> row.config).toList(), false));
        sources.add(run.caches());
        List<Finished<T>> finished = pickAll(run.output());
        if (rows.isEmpty()) {
            closeSources();
        }
        return finished;
    }

    /** How many choices a row with {@code config} picks from; 0: it picks from the logits. */
    private int choicesFor(GenerationConfig config) {
        return offersChoices ? TokenChoices.needed(config, eos.length, vocabSize) : 0;
    }

    /** What a run for rows with these settings returns: logits if a row needs them, choices if a row can use them. */
    private StepOutputs outputs(List<GenerationConfig> configs, boolean firstLogits) {
        boolean logits = firstLogits;
        int choices = 0;
        for (GenerationConfig config : configs) {
            int needed = choicesFor(config);
            logits |= needed == 0;
            choices = Math.max(choices, needed);
        }
        if (choiceIds.length < choices) {
            choiceIds = new int[choices];
            choiceLogProbs = new float[choices];
        }
        return TokenChoices.outputs(logits, choices);
    }

    /**
     * The cache the next step feeds. After a step with no row joined since, the previous step's cache as it is:
     * the slots of rows that finished stay in it (fed the pad token, their outputs ignored), which saves a repack
     * per finished row: while rows will join, until the dead slots outnumber the live rows; otherwise until the
     * work they waste over the steps still to come (at most the longest remaining max_new_tokens) exceeds what a
     * repack costs ({@link #REPACK_STEPS} steps). After rows joined, or past that point, the caches are packed into
     * one holding the live rows only, with as many columns as the longest of them needs.
     */
    private PackedDecoder.Caches cacheForStep(boolean rowsWillJoin) throws OrtException {
        if (sources.size() == 1) {
            int slots = sources.get(0).batch();
            int dead = slots - rows.size();
            int remaining = 0;
            for (Row<T> row : rows) {
                remaining = Math.max(remaining, row.config.maxNewTokens() - row.count);
            }
            if (rowsWillJoin ? dead <= rows.size() : (long) dead * remaining <= (long) REPACK_STEPS * slots) {
                PackedDecoder.Caches only = sources.get(0);
                sources.clear();
                return only;
            }
        }
        int n = rows.size();
        int[] sourceOf = new int[n];
        int[] slots = new int[n];
        int[] keep = new int[n];
        int length = 0;
        for (int i = 0; i < n; i++) {
            Row<T> row = rows.get(i);
            sourceOf[i] = row.source;
            slots[i] = row.slot;
            keep[i] = row.valid;
            length = Math.max(length, row.valid);
        }
        PackedDecoder.Caches joined = packed.pack(sources, sourceOf, slots, keep, length);
        closeSources();
        for (int i = 0; i < n; i++) {
            rows.get(i).source = 0;
            rows.get(i).slot = i;
        }
        return joined;
    }

    private void closeSources() {
        sources.forEach(PackedDecoder.Caches::close);
        sources.clear();
    }

    @Override
    public void close() {
        rows.clear();
        closeSources();
        if (sharedCache != null) {
            sharedCache.close();
            sharedCache = null;
        }
    }

    /** One active row: its settings, what it generated, and where its cache is (source, slot, valid columns). */
    private final class Row<R> {
        final R tag;
        final int[] context;
        final GenerationConfig config;
        final SplittableRandom random;
        final int choices;
        final int[] tokens;
        final float[] logProbs;
        int count;
        double sum;
        float[] firstLogits;
        int source;
        int slot;
        int valid;

        Row(Joining<R> joining, int source, int slot, int valid) {
            this.tag = joining.tag();
            this.context = joining.context();
            this.config = joining.config();
            this.random = TokenSampler.stream(config.seed(), 0);
            this.choices = choicesFor(config);
            this.tokens = new int[config.maxNewTokens()];
            this.logProbs = new float[config.maxNewTokens()];
            this.source = source;
            this.slot = slot;
            this.valid = valid;
        }

        /**
         * Picks the next token from row {@code index} of {@code out} (its choices or its logits); whether it is
         * finished.
         */
        boolean pick(LanguageModelRunner.DecoderOutput out, int index) {
            if (keepFirstLogits && count == 0) {
                firstLogits = out.lastLogits(index);
            }
            int token;
            float lp;
            if (choices > 0) {
                out.lastChoices(index, choiceIds, choiceLogProbs);
                int j = TokenChoices.greedy(choiceIds, choices, count, config, eos);
                token = choiceIds[j];
                lp = choiceLogProbs[j];
            } else {
                out.lastLogits(index, raw);
                token = picker.pick(raw, context, tokens, count, config, eos, random);
                lp = (float) LogitsProcessors.logSoftmaxAt(raw, token);
            }
            tokens[count] = token;
            logProbs[count] = lp;
            count++;
            sum += lp;
            return LogitsProcessors.contains(eos, token) || count == config.maxNewTokens();
        }

        long last() {
            return tokens[count - 1];
        }

        Finished<R> result() {
            return new Finished<>(tag, new GeneratedSequence(Arrays.copyOf(tokens, count), sum, sum / count,
                    Arrays.copyOf(logProbs, count), firstLogits));
        }
    }
}
