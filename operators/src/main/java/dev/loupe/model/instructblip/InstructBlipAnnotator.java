package dev.loupe.model.instructblip;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.blip2.Blip2Package;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.CandidateScorer;
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.TextGenerator;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * InstructBLIP (Vicuna/LLaMA) over ONNX Runtime: image encoder and instruction-aware Q-Former, then the LLaMA
 * decoder generating after the projected query outputs and the prompt. Also runs BLIP-2 (OPT) packages, which
 * differ only in a Q-Former without text input and the OPT decoder ({@link DecoderGraphs}). Rows are batched through every stage;
 * the Q-Former text is right-padded and the LLM input left-padded with positions from the mask, so a row's
 * result never depends on its batch mates. A row that cannot be served fails alone.
 *
 * <p>Thread-safe: it holds only immutable settings, ONNX Runtime sessions (concurrent {@code run} is allowed) and
 * the thread-safe prompt encoder; every call keeps its state (KV cache, masks) on its own stack, so one instance
 * serves all the subtasks of a process (see {@link dev.loupe.model.SharedRuntimes}).
 */
public final class InstructBlipAnnotator implements BatchAnnotator {
    private final Manifest manifest;
    private final InstructBlipPromptEncoder prompts;
    private final ImageEncoder encoder;
    private final LanguageModelRunner language;
    private final TextGenerator generator;
    private final CandidateScorer scorer;
    private final int[] eosIds;

    private InstructBlipAnnotator(Manifest manifest, InstructBlipPromptEncoder prompts, ImageEncoder encoder,
                                  LanguageModelRunner language) {
        this.manifest = manifest;
        this.prompts = prompts;
        this.encoder = encoder;
        this.language = language;
        this.generator = new TextGenerator(language, prompts.specialTokens().pad());
        this.scorer = new CandidateScorer(language);
        this.eosIds = prompts.specialTokens().eos();
    }

    /** Loads a converted model package. */
    public static InstructBlipAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        Manifest manifest = Manifest.read(packageDir);
        if (!InstructBlipPackage.FAMILY.equals(manifest.family()) && !Blip2Package.FAMILY.equals(manifest.family())) {
            throw new IOException(packageDir + " holds a '" + manifest.family() + "' model, not "
                    + InstructBlipPackage.FAMILY + " or " + Blip2Package.FAMILY);
        }
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        DecoderConfig llama = DecoderGraphs.config(config.textConfig());
        InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(packageDir);
        ImageEncoder encoder = null;
        try {
            encoder = ImageEncoder.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, options);
            LanguageModelRunner language = LanguageModelRunner.open(
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_DECODER), llama, options);
            return new InstructBlipAnnotator(manifest, prompts, encoder, language);
        } catch (IOException | RuntimeException e) {
            prompts.close();
            closeQuietly(encoder);
            throw new IOException("cannot load model package " + packageDir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        AnnotationOutcome[] out = new AnnotationOutcome[batch.size()];
        // Rows with the same generation settings decode together (each sampling with its own seed).
        Map<GenerationConfig, List<Integer>> groups = new LinkedHashMap<>();
        EncodedPrompt[] encoded = new EncodedPrompt[batch.size()];
        List<Integer> rankRows = new ArrayList<>();
        List<List<int[]>> candidateIds = new ArrayList<>(java.util.Collections.nCopies(batch.size(), null));
        for (int i = 0; i < batch.size(); i++) {
            AnnotationInput in = batch.get(i);
            try {
                checkSupported(in);
                if (in.task() == Task.RANK) {
                    List<int[]> ids = encodeCandidates(in.candidates());
                    int longest = ids.stream().mapToInt(c -> c.length).max().orElse(0);
                    encoded[i] = prompts.encode(in.prompt(), longest);
                    candidateIds.set(i, ids);
                    rankRows.add(i);
                } else {
                    encoded[i] = prompts.encode(in.prompt(), in.generation().maxNewTokens());
                    groups.computeIfAbsent(in.generation().withSeed(0), g -> new ArrayList<>()).add(i);
                }
            } catch (AnnotationException e) {
                out[i] = AnnotationOutcome.failure(e.code(), e.getMessage());
            }
        }
        if (!rankRows.isEmpty()) {
            rank(batch, encoded, candidateIds, rankRows, out);
        }
        for (Map.Entry<GenerationConfig, List<Integer>> group : groups.entrySet()) {
            List<Integer> rows = group.getValue();
            try {
                List<Annotation> results = generate(batch, encoded, rows, group.getKey());
                for (int k = 0; k < rows.size(); k++) {
                    out[rows.get(k)] = AnnotationOutcome.success(results.get(k));
                }
            } catch (AnnotationException | RuntimeException groupFailure) {
                // Isolate the row(s) at fault: retry each alone; batch invariance makes the results identical.
                for (int row : rows) {
                    try {
                        out[row] = AnnotationOutcome.success(
                                generate(batch, encoded, List.of(row), group.getKey()).get(0));
                    } catch (AnnotationException e) {
                        out[row] = AnnotationOutcome.failure(e.code(), e.getMessage());
                    } catch (RuntimeException e) {
                        out[row] = AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, String.valueOf(e));
                    }
                }
            }
        }
        return Arrays.asList(out);
    }

    private static void checkSupported(AnnotationInput in) throws AnnotationException {
        if (in.task() == Task.RANK) {
            return; // scoring ignores the decoding settings
        }
        try {
            in.generation().validate();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    private List<Annotation> generate(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<Integer> rows,
                                      GenerationConfig config) throws AnnotationException {
        List<float[][]> prefixes = prefixes(batch, encoded, rows);
        List<int[]> promptIds = new ArrayList<>(rows.size());
        long[] seeds = new long[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            promptIds.add(encoded[rows.get(k)].inputIds());
            seeds[k] = batch.get(rows.get(k)).generation().seed();
        }
        List<List<GeneratedSequence>> generated = generator.generate(prefixes, promptIds, config, seeds, eosIds);
        List<Annotation> results = new ArrayList<>(rows.size());
        for (List<GeneratedSequence> own : generated) {
            List<Annotation.Sequence> sequences = new ArrayList<>(own.size());
            for (GeneratedSequence s : own) {
                sequences.add(new Annotation.Sequence(s.tokenIds(), prompts.decode(s.tokenIds(), true).strip(),
                        s.score()));
            }
            Annotation.Sequence best = sequences.get(0);
            results.add(new Annotation(best.tokenIds(), best.text(), best.score(), sequences, List.of()));
        }
        return results;
    }

    /**
     * The LLM input of each row: the projected Q-Former queries (which saw the row's instruction) followed by
     * the prompt's token embeddings. Images and instructions of all rows go through the encoder as one batch.
     */
    private List<float[][]> prefixes(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<Integer> rows)
            throws AnnotationException {
        List<ImageTensor> images = new ArrayList<>(rows.size());
        long[][] qformerIds = new long[rows.size()][];
        for (int k = 0; k < rows.size(); k++) {
            images.add(batch.get(rows.get(k)).pixels());
            qformerIds[k] = toLongs(encoded[rows.get(k)].qformerIds());
        }
        float[][][] queryEmbeds = encoder.encode(images, qformerIds);
        float[][][] textEmbeds = embedTexts(encoded, rows);
        List<float[][]> prefixes = new ArrayList<>(rows.size());
        for (int k = 0; k < rows.size(); k++) {
            float[][] q = queryEmbeds[k];
            float[][] t = textEmbeds[k];
            float[][] prefix = new float[q.length + t.length][];
            System.arraycopy(q, 0, prefix, 0, q.length);
            System.arraycopy(t, 0, prefix, q.length, t.length);
            prefixes.add(prefix);
        }
        return prefixes;
    }

    /** Most candidates one request may rank; they are scored together in one decoder batch. */
    static final int MAX_CANDIDATES = 256;

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
            ids.add(prompts.encodeCandidate(c));
        }
        return ids;
    }

    /**
     * Candidate ranking as in the InstructBLIP paper: each candidate's score is the summed log-probability of its
     * tokens followed by end-of-sequence, given image and prompt. The prefix of a request runs once and its KV
     * cache is shared by all its candidates. The best candidate becomes the annotation's text.
     */
    private void rank(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<List<int[]>> candidateIds,
                      List<Integer> rows, AnnotationOutcome[] out) {
        List<float[][]> prefixes;
        try {
            prefixes = prefixes(batch, encoded, rows);
        } catch (AnnotationException | RuntimeException e) {
            if (rows.size() > 1) {
                for (int row : rows) {
                    rank(batch, encoded, candidateIds, List.of(row), out);
                }
            } else {
                out[rows.get(0)] = failure(e);
            }
            return;
        }
        for (int k = 0; k < rows.size(); k++) {
            int row = rows.get(k);
            try {
                List<CandidateScorer.CandidateLogProbs> scores = scorer.score(prefixes.get(k), candidateIds.get(row));
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
            }
        }
    }

    private static AnnotationOutcome failure(Exception e) {
        return e instanceof AnnotationException ae ? AnnotationOutcome.failure(ae.code(), ae.getMessage())
                : AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, String.valueOf(e));
    }

    /** Token embeddings of every row's prompt, looked up in one call over the concatenated ids. */
    private float[][][] embedTexts(EncodedPrompt[] encoded, List<Integer> rows) throws AnnotationException {
        int total = 0;
        for (int row : rows) {
            total += encoded[row].textIds().length;
        }
        long[] ids = new long[total];
        int at = 0;
        for (int row : rows) {
            for (int id : encoded[row].textIds()) {
                ids[at++] = id;
            }
        }
        int hidden = language.config().hiddenSize();
        float[] flat;
        try {
            flat = language.embed(ids, 1, total);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "token embedding failed: " + e.getMessage(), e);
        }
        float[][][] out = new float[rows.size()][][];
        int pos = 0;
        for (int k = 0; k < rows.size(); k++) {
            int n = encoded[rows.get(k)].textIds().length;
            out[k] = new float[n][];
            for (int j = 0; j < n; j++, pos++) {
                out[k][j] = Arrays.copyOfRange(flat, pos * hidden, (pos + 1) * hidden);
            }
        }
        return out;
    }

    private static long[] toLongs(int[] ids) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        return out;
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
        closeQuietly(encoder);
        try {
            language.close();
        } catch (OrtException ignored) {
            // native resources are released with the environment anyway
        }
        prompts.close();
    }

    private static void closeQuietly(ImageEncoder e) {
        if (e != null) {
            try {
                e.close();
            } catch (OrtException ignored) {
                // best effort on a failure path
            }
        }
    }
}
