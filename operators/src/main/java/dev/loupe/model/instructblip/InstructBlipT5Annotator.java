package dev.loupe.model.instructblip;

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
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Generator;
import dev.loupe.model.t5.T5Runner;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * InstructBLIP with a Flan-T5 language model over ONNX Runtime. As transformers'
 * {@code InstructBlipForConditionalGeneration} for encoder-decoder models: the projected Q-Former queries (which saw
 * the row's instruction) take the places of the image tokens in front of the EOS-terminated prompt, and that
 * sequence, all attended, is the T5 ENCODER input; the decoder generates from the start token. Rows are batched
 * through every stage, the encoder input right-padded under its mask (T5 positions are relative, so a row's result
 * does not depend on its batch). A row that cannot be served fails alone.
 *
 * <p>Thread-safe like {@link InstructBlipAnnotator}: immutable settings, ONNX Runtime sessions and per-call state.
 */
public final class InstructBlipT5Annotator implements BatchAnnotator {
    /** Most candidates one request may rank; they are scored together in one decoder batch. */
    static final int MAX_CANDIDATES = dev.loupe.model.vlm.PrefixLanguageModelAnnotator.MAX_CANDIDATES;

    private final Manifest manifest;
    private final InstructBlipPromptEncoder prompts;
    private final ImageEncoder encoder;
    private final T5Runner language;
    private final T5Generator generator;
    private final int[] eosIds;

    private InstructBlipT5Annotator(Manifest manifest, InstructBlipPromptEncoder prompts, ImageEncoder encoder,
                                    T5Runner language) {
        this.manifest = manifest;
        this.prompts = prompts;
        this.encoder = encoder;
        this.language = language;
        this.generator = new T5Generator(language);
        this.eosIds = prompts.specialTokens().eos();
    }

    /** Loads a converted {@value InstructBlipPackage#FAMILY_T5} package. */
    public static InstructBlipT5Annotator open(Path packageDir, RuntimeOptions options) throws IOException {
        Manifest manifest = Manifest.read(packageDir);
        if (!InstructBlipPackage.FAMILY_T5.equals(manifest.family())) {
            throw new IOException(packageDir + " holds a '" + manifest.family() + "' model, not "
                    + InstructBlipPackage.FAMILY_T5);
        }
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        T5Config t5 = T5Config.fromJson(config.textConfig());
        InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(packageDir);
        ImageEncoder encoder = null;
        try {
            encoder = ImageEncoder.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION),
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER), config, options);
            T5Runner language = T5Runner.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_ENCODER),
                    manifest.graph(packageDir, InstructBlipPackage.GRAPH_DECODER), t5, options);
            return new InstructBlipT5Annotator(manifest, prompts, encoder, language);
        } catch (IOException | RuntimeException e) {
            prompts.close();
            if (encoder != null) {
                try {
                    encoder.close();
                } catch (OrtException ignored) {
                    // failure path
                }
            }
            throw new IOException("cannot load model package " + packageDir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        AnnotationOutcome[] out = new AnnotationOutcome[batch.size()];
        Map<GenerationConfig, List<Integer>> groups = new LinkedHashMap<>();
        EncodedPrompt[] encoded = new EncodedPrompt[batch.size()];
        List<Integer> rankRows = new ArrayList<>();
        List<List<int[]>> candidateIds = new ArrayList<>(Collections.nCopies(batch.size(), null));
        for (int i = 0; i < batch.size(); i++) {
            AnnotationInput in = batch.get(i);
            try {
                encoded[i] = prompts.encode(in.prompt()); // T5 positions are relative: no context to overflow
                if (in.task() == Task.RANK) {
                    candidateIds.set(i, encodeCandidates(in.candidates()));
                    rankRows.add(i);
                } else {
                    try {
                        in.generation().validate();
                    } catch (IllegalArgumentException e) {
                        throw new AnnotationException(ErrorCode.INVALID_REQUEST, e.getMessage(), e);
                    }
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
                for (int row : rows) { // isolate the row(s) at fault; batch invariance keeps results identical
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

    private List<Annotation> generate(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<Integer> rows,
                                      GenerationConfig config) throws AnnotationException {
        List<float[][]> inputs = encoderInputs(batch, encoded, rows);
        long[] seeds = new long[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            seeds[k] = batch.get(rows.get(k)).generation().seed();
        }
        List<List<GeneratedSequence>> generated = generator.generate(inputs, config, seeds, eosIds);
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
     * The T5 encoder input of each row: the projected queries in the image tokens' places, then the prompt's
     * token embeddings (EOS included). Images and instructions of all rows go through the encoder as one batch.
     */
    List<float[][]> encoderInputs(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<Integer> rows)
            throws AnnotationException {
        List<ImageTensor> images = new ArrayList<>(rows.size());
        long[][] qformerIds = new long[rows.size()][];
        for (int k = 0; k < rows.size(); k++) {
            images.add(batch.get(rows.get(k)).pixels());
            qformerIds[k] = Arrays.stream(encoded[rows.get(k)].qformerIds()).asLongStream().toArray();
        }
        float[][][] queryEmbeds = encoder.encode(images, qformerIds);
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
        float[] flat;
        try {
            flat = language.embed(ids, 1, total);
        } catch (OrtException | IllegalArgumentException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "token embedding failed: " + e.getMessage(), e);
        }
        int d = language.config().dModel();
        List<float[][]> inputs = new ArrayList<>(rows.size());
        int pos = 0;
        for (int k = 0; k < rows.size(); k++) {
            float[][] q = queryEmbeds[k];
            int n = encoded[rows.get(k)].textIds().length;
            float[][] input = new float[q.length + n][];
            System.arraycopy(q, 0, input, 0, q.length);
            for (int j = 0; j < n; j++, pos++) {
                input[q.length + j] = Arrays.copyOfRange(flat, pos * d, (pos + 1) * d);
            }
            inputs.add(input);
        }
        return inputs;
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
     * Candidate ranking: a candidate's score is the summed log-probability of its tokens and EOS, teacher-forced
     * through the decoder after the start token. The encoder runs once per request for all its candidates.
     */
    private void rank(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<List<int[]>> candidateIds,
                      List<Integer> rows, AnnotationOutcome[] out) {
        List<float[][]> inputs;
        try {
            inputs = encoderInputs(batch, encoded, rows);
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
                double[] scores = generator.scoreCandidates(inputs.get(k), candidateIds.get(row));
                List<String> texts = batch.get(row).candidates();
                List<Annotation.CandidateScore> ranked = new ArrayList<>(texts.size());
                int best = 0;
                for (int c = 0; c < texts.size(); c++) {
                    ranked.add(new Annotation.CandidateScore(texts.get(c), scores[c]));
                    if (scores[c] > scores[best]) {
                        best = c;
                    }
                }
                out[row] = AnnotationOutcome.success(new Annotation(candidateIds.get(row).get(best), texts.get(best),
                        scores[best], List.of(), ranked));
            } catch (AnnotationException | RuntimeException e) {
                out[row] = failure(e);
            }
        }
    }

    private static AnnotationOutcome failure(Exception e) {
        return e instanceof AnnotationException ae ? AnnotationOutcome.failure(ae.code(), ae.getMessage())
                : AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, String.valueOf(e));
    }

    /** The language model runtime (for parity checks of its stages). */
    T5Runner language() {
        return language;
    }

    ImageEncoder imageEncoder() {
        return encoder;
    }

    InstructBlipPromptEncoder prompts() {
        return prompts;
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
            encoder.close();
        } catch (OrtException ignored) {
            // released with the environment anyway
        }
        try {
            language.close();
        } catch (OrtException ignored) {
            // released with the environment anyway
        }
        prompts.close();
    }
}
