package dev.loupe.model.llava;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.Annotation;
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
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.llm.TextGenerator;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LLaVA-1.5 over ONNX Runtime: the prompt is wrapped in the conversation template (see {@link LlavaPromptEncoder}),
 * its {@code <image>} placeholders are replaced in place by the image's projected CLIP features, and the LLaMA
 * decoder generates (greedy, beam search or sampling through {@link TextGenerator}) or scores candidates (task
 * RANK, through {@link CandidateScorer}). Rows are batched through every stage, left-padded with positions from
 * the mask, so a row's result never depends on its batch mates; a row that cannot be served fails alone.
 *
 * <p>Thread-safe: it holds immutable settings, ONNX Runtime sessions and the thread-safe tokenizer; each call keeps
 * its state on its own stack, so one instance serves all the subtasks of a process.
 */
public final class LlavaAnnotator implements BatchAnnotator {
    /** Most candidates one request may rank; they are scored together in one decoder batch. */
    static final int MAX_CANDIDATES = 256;

    private final Manifest manifest;
    private final LlavaPromptEncoder prompts;
    private final LlavaImageEncoder images;
    private final LanguageModelRunner language;
    private final TextGenerator generator;
    private final CandidateScorer scorer;
    private final int[] eosIds;

    private LlavaAnnotator(Manifest manifest, LlavaPromptEncoder prompts, LlavaImageEncoder images,
                           LanguageModelRunner language) {
        this.manifest = manifest;
        this.prompts = prompts;
        this.images = images;
        this.language = language;
        this.generator = new TextGenerator(language, prompts.specialTokens().pad());
        this.scorer = new CandidateScorer(language);
        this.eosIds = prompts.specialTokens().eos();
    }

    /** Loads a converted model package. */
    public static LlavaAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        Manifest manifest = Manifest.read(packageDir);
        if (!LlavaPackage.FAMILY.equals(manifest.family())) {
            throw new IOException(packageDir + " holds a '" + manifest.family() + "' model, not " + LlavaPackage.FAMILY);
        }
        LlavaConfig config;
        LlamaConfig llama;
        try {
            config = LlavaConfig.fromJson(manifest.config());
            llama = LlamaConfig.fromJson(config.textConfig());
        } catch (IllegalArgumentException e) {
            throw new IOException(packageDir + ": " + e.getMessage(), e);
        }
        LlavaPromptEncoder prompts = LlavaPromptEncoder.open(packageDir, manifest, config,
                llama.maxPositionEmbeddings());
        LlavaImageEncoder encoder = null;
        try {
            encoder = LlavaImageEncoder.open(manifest.graph(packageDir, LlavaPackage.GRAPH_IMAGE), config, options);
            LanguageModelRunner language = LanguageModelRunner.open(
                    manifest.graph(packageDir, LlavaPackage.GRAPH_EMBED),
                    manifest.graph(packageDir, LlavaPackage.GRAPH_DECODER), llama, options);
            return new LlavaAnnotator(manifest, prompts, encoder, language);
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
        int[][] encoded = new int[batch.size()][];
        List<Integer> rankRows = new ArrayList<>();
        List<List<int[]>> candidateIds = new ArrayList<>(Collections.nCopies(batch.size(), null));
        for (int i = 0; i < batch.size(); i++) {
            AnnotationInput in = batch.get(i);
            try {
                if (in.task() == Task.RANK) {
                    List<int[]> ids = encodeCandidates(in.candidates());
                    int longest = ids.stream().mapToInt(c -> c.length).max().orElse(0);
                    encoded[i] = prompts.encode(in.prompt(), longest);
                    candidateIds.set(i, ids);
                    rankRows.add(i);
                } else {
                    validate(in.generation());
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
                    } catch (AnnotationException | RuntimeException e) {
                        out[row] = failure(e);
                    }
                }
            }
        }
        return Arrays.asList(out);
    }

    private static void validate(GenerationConfig config) throws AnnotationException {
        try {
            config.validate();
        } catch (IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    private List<Annotation> generate(List<AnnotationInput> batch, int[][] encoded, List<Integer> rows,
                                      GenerationConfig config) throws AnnotationException {
        List<float[][]> prefixes = prefixes(batch, encoded, rows);
        List<int[]> promptIds = new ArrayList<>(rows.size());
        long[] seeds = new long[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            promptIds.add(encoded[rows.get(k)]);
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
     * The LLM input of each row: the token embeddings of its input ids, with the image-token positions replaced in
     * order by the row's projected image features (transformers' {@code masked_scatter}). All rows' images go
     * through the image graph as one batch and all their ids through one embedding lookup.
     */
    private List<float[][]> prefixes(List<AnnotationInput> batch, int[][] encoded, List<Integer> rows)
            throws AnnotationException {
        List<ImageTensor> pixels = new ArrayList<>(rows.size());
        for (int row : rows) {
            pixels.add(batch.get(row).pixels());
        }
        float[][][] features = images.encode(pixels);
        float[][][] embeds = embedTexts(encoded, rows);
        int imageToken = prompts.specialTokens().imageToken();
        List<float[][]> prefixes = new ArrayList<>(rows.size());
        for (int k = 0; k < rows.size(); k++) {
            int[] ids = encoded[rows.get(k)];
            float[][] prefix = embeds[k];
            int next = 0;
            for (int p = 0; p < ids.length; p++) {
                if (ids[p] == imageToken) {
                    prefix[p] = features[k][next++];
                }
            }
            if (next != features[k].length) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt has " + next
                        + " image tokens for " + features[k].length + " image features");
            }
            prefixes.add(prefix);
        }
        return prefixes;
    }

    /** Token embeddings of every row's ids (image placeholders looked up as id 0), in one call. */
    private float[][][] embedTexts(int[][] encoded, List<Integer> rows) throws AnnotationException {
        int imageToken = prompts.specialTokens().imageToken();
        int total = 0;
        for (int row : rows) {
            total += encoded[row].length;
        }
        long[] ids = new long[total];
        int at = 0;
        for (int row : rows) {
            for (int id : encoded[row]) {
                ids[at++] = id == imageToken ? 0 : id;
            }
        }
        int hidden = language.config().hiddenSize();
        float[] flat;
        try {
            flat = language.embed(ids, 1, total);
        } catch (OrtException | IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "token embedding failed: " + e.getMessage(), e);
        }
        float[][][] out = new float[rows.size()][][];
        int pos = 0;
        for (int k = 0; k < rows.size(); k++) {
            int n = encoded[rows.get(k)].length;
            out[k] = new float[n][];
            for (int j = 0; j < n; j++, pos++) {
                out[k][j] = Arrays.copyOfRange(flat, pos * hidden, (pos + 1) * hidden);
            }
        }
        return out;
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
            ids.add(prompts.encodeCandidate(c));
        }
        return ids;
    }

    /**
     * Candidate ranking: each candidate's score is the summed log-probability of its tokens followed by
     * end-of-sequence, given image and prompt; the prefix runs once per request and its KV cache is shared by its
     * candidates. The best candidate becomes the annotation's text.
     */
    private void rank(List<AnnotationInput> batch, int[][] encoded, List<List<int[]>> candidateIds,
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

    /** The image side, for parity diagnostics. */
    public LlavaImageEncoder imageEncoder() {
        return images;
    }

    /** The language model, for parity diagnostics. */
    public LanguageModelRunner languageModel() {
        return language;
    }

    /** The input ids a prompt becomes (templated, image placeholders expanded, BOS first). */
    public int[] inputIds(String prompt) throws AnnotationException {
        return prompts.encode(prompt, 0);
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
        closeQuietly(images);
        try {
            language.close();
        } catch (OrtException ignored) {
            // native resources are released with the environment anyway
        }
        prompts.close();
    }

    private static void closeQuietly(LlavaImageEncoder e) {
        if (e != null) {
            try {
                e.close();
            } catch (OrtException ignored) {
                // best effort on a failure path
            }
        }
    }
}
