package dev.loupe.model.vlm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.CandidateScorer;
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.llm.GenerationClock;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.ContinuousDecoder;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.llm.PrefixStepDecoder;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.llm.TextGenerator;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.pkg.Manifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * A vision-language model whose image side feeds its language model through input embeddings (InstructBLIP, BLIP-2,
 * LLaVA): the family's {@link VisualPrefixEncoder} builds each row's input (image features and prompt embeddings),
 * and this class does the rest over a {@link StepDecoder}: the prefix of a decoder-only model
 * ({@link PrefixStepDecoder}) or the encoder input of an encoder-decoder one ({@link dev.loupe.model.t5.T5StepDecoder}).
 * Rows with the same generation settings (seed aside) decode together through {@link TextGenerator}; task RANK scores
 * candidates through {@link CandidateScorer}. Every row's prefix is built in one pass, so the image side runs once
 * per distinct image of a call (and reuses features across calls, see {@link dev.loupe.model.vision.VisionFeatures}).
 * Rows are batched through every stage so that a row's result never depends on its batch mates. A row refused on
 * its own (prompt too long, bad candidates) gets its failure outcome; a stage that fails for several rows together
 * fails the call, and the caller retries each input alone.
 *
 * <p>Thread-safe: it holds only immutable settings, ONNX Runtime sessions (concurrent {@code run} is allowed) and
 * the thread-safe prefix encoder; every call keeps its state (KV cache, masks) on its own stack, so one instance
 * serves all the subtasks of a process (see {@link dev.loupe.model.SharedRuntimes}).
 *
 * @param <P> the family's encoded prompt
 */
public final class PrefixLanguageModelAnnotator<P> implements BatchAnnotator {
    /** Most candidates one request may rank; they are scored together in one decoder batch. */
    public static final int MAX_CANDIDATES = 256;

    /**
     * System property, {@code false} by default (on a quiet machine it did not pay: docs/benchmarks.md); {@code true}:
     * continuous batching builds the image side of waiting rows on a thread
     * of its own in the idle scheduling class while rows decode, its runs wholly on that thread, filling the cores the
     * decode steps leave idle; admissions build on the loop's thread (over the pool) only the rows still missing
     * ({@link PrefixesAhead}). Only for families whose image side can run on the calling thread
     * ({@link VisualPrefixEncoder#buildsOnCaller}: InstructBLIP and BLIP-2 on the CPU). Off: every group is
     * built on the loop's thread when admission needs it.
     */
    public static final String PREFIXES_IN_BACKGROUND = PrefixesAhead.BACKGROUND_PROPERTY;

    /** System property: rows per group the background thread builds (default 1; for measurements). */
    public static final String BACKGROUND_GROUP = PrefixesAhead.BACKGROUND_GROUP_PROPERTY;

    private static final Logger LOG = Logger.getLogger(PrefixLanguageModelAnnotator.class.getName());

    private final Manifest manifest;
    private final VisualPrefixEncoder<P> encoder;
    private final StepDecoder language;
    private final TokenEmbeddings embeddings;
    private final TextGenerator generator;
    private final GenerationClock clock = new GenerationClock();
    private final CandidateScorer scorer;
    private final int[] eosIds;
    private final AtomicBoolean toldStatic = new AtomicBoolean();

    /**
     * Over a decoder-only model, whose prefixes are left-padded with the pad token. Takes ownership of
     * {@code encoder} and {@code language}: {@link #close()} closes both.
     */
    public PrefixLanguageModelAnnotator(Manifest manifest, VisualPrefixEncoder<P> encoder,
                                        LanguageModelRunner language) {
        this(manifest, encoder, new PrefixStepDecoder(language, encoder.tokenizer().specialTokens().pad()));
    }

    /** Takes ownership of {@code encoder} and {@code language}: {@link #close()} closes both. */
    public PrefixLanguageModelAnnotator(Manifest manifest, VisualPrefixEncoder<P> encoder, StepDecoder language) {
        this.manifest = manifest;
        this.encoder = encoder;
        this.language = language;
        this.embeddings = new TokenEmbeddings(language);
        this.generator = new TextGenerator(language);
        this.scorer = new CandidateScorer(language);
        this.eosIds = encoder.tokenizer().specialTokens().eos();
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        AnnotationOutcome[] out = new AnnotationOutcome[batch.size()];
        // Rows with the same generation settings decode together (each sampling with its own seed).
        Map<GenerationConfig, List<Integer>> groups = new LinkedHashMap<>();
        List<P> encoded = new ArrayList<>(Collections.nCopies(batch.size(), null));
        List<Integer> rankRows = new ArrayList<>();
        List<List<int[]>> candidateIds = new ArrayList<>(Collections.nCopies(batch.size(), null));
        for (int i = 0; i < batch.size(); i++) {
            AnnotationInput in = batch.get(i);
            try {
                if (in.task() == Task.RANK) { // scoring ignores the decoding settings
                    List<int[]> ids = encodeCandidates(in.candidates());
                    int longest = ids.stream().mapToInt(c -> c.length).max().orElse(0);
                    encoded.set(i, encoder.encodePrompt(in.prompt(), longest));
                    candidateIds.set(i, ids);
                    rankRows.add(i);
                } else {
                    encoded.set(i, encoder.encodePrompt(in.prompt(), in.generation().maxNewTokens()));
                    groups.computeIfAbsent(in.generation().withSeed(0), g -> new ArrayList<>()).add(i);
                }
            } catch (AnnotationException e) {
                out[i] = AnnotationOutcome.failure(e.code(), e.getMessage());
            }
        }
        // Every row's prefix in one pass, so that the image side runs once per distinct image of the call
        // whatever the rows' tasks and generation settings.
        List<Integer> prefixRows = new ArrayList<>(rankRows);
        groups.values().forEach(prefixRows::addAll);
        VisualPrefix[] prefixes = new VisualPrefix[batch.size()];
        try {
            if (!prefixRows.isEmpty()) {
                try {
                    List<VisualPrefix> computed = prefixes(batch, encoded, prefixRows);
                    for (int k = 0; k < prefixRows.size(); k++) {
                        prefixes[prefixRows.get(k)] = computed.get(k);
                    }
                } catch (AnnotationException | RuntimeException e) {
                    fail(prefixRows, e, out);
                    return Arrays.asList(out);
                }
            }
            if (!rankRows.isEmpty()) {
                rank(batch, prefixes, candidateIds, rankRows, out);
            }
            for (Map.Entry<GenerationConfig, List<Integer>> group : groups.entrySet()) {
                List<Integer> rows = group.getValue();
                try {
                    List<Annotation> results = generate(batch, encoded, prefixes, rows, group.getKey());
                    for (int k = 0; k < rows.size(); k++) {
                        out[rows.get(k)] = AnnotationOutcome.success(results.get(k));
                    }
                } catch (AnnotationException | RuntimeException e) {
                    fail(rows, e, out);
                } finally {
                    rows.forEach(r -> prefixes[r].close());
                }
            }
            return Arrays.asList(out);
        } finally { // the call's generation has ended, for every row: its image outputs are released
            VisualPrefix.closeAll(Arrays.asList(prefixes));
        }
    }

    private List<Annotation> generate(List<AnnotationInput> batch, List<P> encoded, VisualPrefix[] rowPrefixes,
                                      List<Integer> rows, GenerationConfig config) throws AnnotationException {
        List<VisualPrefix> prefixes = new ArrayList<>(rows.size());
        List<int[]> promptIds = new ArrayList<>(rows.size());
        long[] seeds = new long[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            prefixes.add(rowPrefixes[rows.get(k)]);
            promptIds.add(language.penaltyContext(encoder.inputIds(encoded.get(rows.get(k)))));
            seeds[k] = batch.get(rows.get(k)).generation().seed();
        }
        long start = System.nanoTime();
        List<List<GeneratedSequence>> generated = generator.generateFrom(prefixes, promptIds, config, seeds, eosIds);
        clock.staticLanguage(start);
        List<Annotation> results = new ArrayList<>(rows.size());
        for (List<GeneratedSequence> own : generated) {
            results.add(annotation(own));
        }
        return results;
    }

    /** A request's annotation from its generated sequences, best first. */
    Annotation annotation(List<GeneratedSequence> own) {
        List<Annotation.Sequence> sequences = new ArrayList<>(own.size());
        for (GeneratedSequence s : own) {
            sequences.add(new Annotation.Sequence(s.tokenIds(), encoder.tokenizer().decode(s.tokenIds(), true).strip(), s.score()));
        }
        Annotation.Sequence best = sequences.get(0);
        return new Annotation(best.tokenIds(), best.text(), best.score(), sequences, List.of());
    }

    /**
     * One-beam rows (greedy, sampling) decode with continuous batching ({@link ContinuousAnnotation}); beam search
     * and ranking rows run in static batches of {@code maxActiveRows} between steps. Every row of a T5 package
     * written before its decoder took a self-attention mask runs in static batches.
     */
    @Override
    public void annotateContinuously(List<AnnotationInput> inputs, int maxActiveRows, OutcomeListener listener) {
        ContinuousDecoder decoder = continuousDecoder();
        if (decoder != null) {
            new ContinuousAnnotation<>(this, encoder, decoder, eosIds).run(inputs, maxActiveRows, listener);
        } else {
            BatchAnnotator.super.annotateContinuously(inputs, maxActiveRows, listener);
        }
    }

    /** As {@link #annotateContinuously}, fed by a stream: requests join the decoding rows as they arrive. */
    @Override
    public <T> void annotateFed(AnnotationFeed<T> feed, int maxActiveRows, AnnotationFeed.Listener<T> listener)
            throws InterruptedException {
        if (maxActiveRows < 1) {
            throw new IllegalArgumentException("maxActiveRows must be >= 1, got " + maxActiveRows);
        }
        ContinuousDecoder decoder = continuousDecoder();
        if (decoder != null) {
            new ContinuousAnnotation<>(this, encoder, decoder, eosIds).run(feed, maxActiveRows, listener);
        } else {
            BatchAnnotator.super.annotateFed(feed, maxActiveRows, listener);
        }
    }

    /**
     * The language model where its rows can batch continuously, else null. A package whose decoder cannot (a Flan-T5
     * package converted before its decoder took a self-attention mask) says so once, with the remedy, as a warning.
     */
    private ContinuousDecoder continuousDecoder() {
        if (!(language instanceof ContinuousDecoder decoder)) {
            return null;
        }
        if (decoder.batchesContinuously()) {
            return decoder;
        }
        if (toldStatic.compareAndSet(false, true)) {
            LOG.warning("model package '" + manifest.name() + "' was converted before its decoder could batch "
                    + "continuously (its T5 decoder graph has no self-attention mask input): its rows run in static "
                    + "batches; convert the checkpoint again (loupe convert, or remove the converted package from "
                    + "the cache, LOUPE_CACHE/packages) to batch them continuously");
        }
        return null;
    }

    /** The decoder prefixes of {@code rows} of {@code batch} (their prompts encoded in {@code encoded}), in order. */
    List<VisualPrefix> prefixes(List<AnnotationInput> batch, List<P> encoded, List<Integer> rows)
            throws AnnotationException {
        return prefixes(batch, encoded, rows, false);
    }

    /**
     * As {@link #prefixes(List, List, List)}; {@code inBackground}: built by a background thread beside the loop, the
     * image side wholly on that thread ({@link VisualPrefixEncoder#prefixesOnCaller}) and timed apart.
     */
    List<VisualPrefix> prefixes(List<AnnotationInput> batch, List<P> encoded, List<Integer> rows,
                                boolean inBackground) throws AnnotationException {
        List<ImageTensor> images = new ArrayList<>(rows.size());
        List<P> prompts = new ArrayList<>(rows.size());
        for (int row : rows) {
            images.add(batch.get(row).pixels());
            prompts.add(encoded.get(row));
        }
        long start = System.nanoTime();
        List<VisualPrefix> prefixes;
        if (inBackground) {
            prefixes = encoder.prefixesOnCaller(images, prompts, embeddings);
            clock.backgroundImageSide(start, rows.size());
        } else {
            prefixes = encoder.prefixes(images, prompts, embeddings);
            clock.imageSide(start, rows.size());
        }
        return prefixes;
    }

    private List<int[]> encodeCandidates(List<String> candidates) throws AnnotationException {
        if (candidates.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "task rank needs at least one candidate");
        }
        if (candidates.size() > MAX_CANDIDATES) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, candidates.size()
                    + " candidates, over the limit of " + MAX_CANDIDATES);
        }
        List<int[]> ids = new ArrayList<>(candidates.size());
        for (String c : candidates) {
            ids.add(encoder.tokenizer().encodeCandidate(c));
        }
        return ids;
    }

    /**
     * Candidate ranking as in the InstructBLIP paper: each candidate's score is the summed log-probability of its
     * tokens followed by end-of-sequence, given image and prompt. The prefix of a request runs once and its KV
     * cache is shared by all its candidates. The best candidate becomes the annotation's text.
     */
    private void rank(List<AnnotationInput> batch, VisualPrefix[] prefixes, List<List<int[]>> candidateIds,
                      List<Integer> rows, AnnotationOutcome[] out) {
        for (int k = 0; k < rows.size(); k++) {
            int row = rows.get(k);
            try {
                List<CandidateScorer.CandidateLogProbs> scores = scorer.score(prefixes[row], candidateIds.get(row));
                List<String> texts = batch.get(row).candidates();
                List<Annotation.CandidateScore> ranked = new ArrayList<>(texts.size());
                int best = 0;
                for (int c = 0; c < texts.size(); c++) {
                    ranked.add(new Annotation.CandidateScore(texts.get(c), scores.get(c).sum()));
                    if (scores.get(c).sum() > scores.get(best).sum()) {
                        best = c;
                    }
                }
                out[row] = AnnotationOutcome.success(new Annotation(candidateIds.get(row).get(best), texts.get(best),
                        scores.get(best).sum(), List.of(), ranked));
            } catch (AnnotationException | RuntimeException e) {
                out[row] = failure(e);
            } finally {
                prefixes[row].close();
            }
        }
    }

    /**
     * A stage failed for {@code rows} run together. One row's failure is its outcome. Several rows' failure cannot
     * be pinned on one of them, so the whole call fails and its caller runs each input alone (the Flink
     * {@code BatchInference} and {@code loupe annotate} do); batch invariance makes the rows that succeed alone
     * give the same results. The isolation is the caller's, in one place, rather than repeated here.
     */
    private static void fail(List<Integer> rows, Exception e, AnnotationOutcome[] out) {
        if (rows.size() > 1) {
            throw new IllegalStateException(rows.size() + " rows failed together: " + e, e);
        }
        out[rows.get(0)] = failure(e);
    }

    /** A row's failure outcome for {@code e}. */
    static AnnotationOutcome failure(Exception e) {
        return e instanceof AnnotationException ae ? AnnotationOutcome.failure(ae.code(), ae.getMessage())
                : AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, String.valueOf(e));
    }

    @Override
    public VisionFeatureStats visionStats() {
        return encoder.visionStats();
    }

    @Override
    public GenerationSplit generationSplit() {
        return clock.snapshot();
    }

    /** Where this model's stages report their time (the continuous loop's batches too). */
    GenerationClock clock() {
        return clock;
    }

    @Override
    public HostTrafficStats hostTraffic() {
        HostTrafficStats decoder = language instanceof DeviceBoundDecoder bound ? bound.trafficStats()
                : HostTrafficStats.NONE;
        return decoder.withImageSide(encoder.imageSideTraffic());
    }

    /** The language model, for parity diagnostics. */
    public StepDecoder languageModel() {
        return language;
    }

    @Override
    public String modelId() {
        return manifest.name();
    }

    @Override
    public String modelVersion() {
        return manifest.source() == null ? "" : manifest.source().sha256();
    }

    @Override
    public void close() {
        try {
            language.close();
        } catch (OrtException ignored) {
            // native resources are released with the environment anyway
        }
        encoder.close();
    }
}
