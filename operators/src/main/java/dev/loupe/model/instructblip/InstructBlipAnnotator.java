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
import dev.loupe.model.llm.GreedyGenerator;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.LlamaConfig;
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
 * decoder generating after the projected query outputs and the prompt. Rows are batched through every stage;
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
    private final GreedyGenerator greedy;
    private final int[] eosIds;

    private InstructBlipAnnotator(Manifest manifest, InstructBlipPromptEncoder prompts, ImageEncoder encoder,
                                  LanguageModelRunner language) {
        this.manifest = manifest;
        this.prompts = prompts;
        this.encoder = encoder;
        this.language = language;
        this.greedy = new GreedyGenerator(language, prompts.specialTokens().pad());
        this.eosIds = prompts.specialTokens().eos();
    }

    /** Loads a converted model package. */
    public static InstructBlipAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        Manifest manifest = Manifest.read(packageDir);
        if (!InstructBlipPackage.FAMILY.equals(manifest.family())) {
            throw new IOException(packageDir + " holds a '" + manifest.family() + "' model, not "
                    + InstructBlipPackage.FAMILY);
        }
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        LlamaConfig llama = LlamaConfig.fromJson(config.textConfig());
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
        // Rows with the same generation settings decode together.
        Map<GenerationConfig, List<Integer>> groups = new LinkedHashMap<>();
        EncodedPrompt[] encoded = new EncodedPrompt[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            AnnotationInput in = batch.get(i);
            try {
                checkSupported(in);
                encoded[i] = prompts.encode(in.prompt(), in.generation().maxNewTokens());
                groups.computeIfAbsent(in.generation(), g -> new ArrayList<>()).add(i);
            } catch (AnnotationException e) {
                out[i] = AnnotationOutcome.failure(e.code(), e.getMessage());
            }
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
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "candidate ranking (task rank) is not available in this build yet");
        }
        if (!in.generation().isGreedy() || in.generation().numReturnSequences() != 1) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "only greedy decoding is available in this build (num_beams 1, no sampling)");
        }
        if (in.generation().repetitionPenalty() != 1.0) {
            throw new AnnotationException(ErrorCode.UNSUPPORTED_OPTION,
                    "repetition_penalty is not available in this build yet");
        }
    }

    private List<Annotation> generate(List<AnnotationInput> batch, EncodedPrompt[] encoded, List<Integer> rows,
                                      GenerationConfig config) throws AnnotationException {
        List<ImageTensor> images = new ArrayList<>(rows.size());
        long[][] qformerIds = new long[rows.size()][];
        for (int k = 0; k < rows.size(); k++) {
            images.add(batch.get(rows.get(k)).pixels());
            qformerIds[k] = toLongs(encoded[rows.get(k)].qformerIds());
        }
        float[][][] queryEmbeds = encoder.encode(images, qformerIds);
        List<float[][]> prefixes = new ArrayList<>(rows.size());
        float[][][] textEmbeds = embedTexts(encoded, rows);
        for (int k = 0; k < rows.size(); k++) {
            float[][] q = queryEmbeds[k];
            float[][] t = textEmbeds[k];
            float[][] prefix = new float[q.length + t.length][];
            System.arraycopy(q, 0, prefix, 0, q.length);
            System.arraycopy(t, 0, prefix, q.length, t.length);
            prefixes.add(prefix);
        }
        List<GeneratedSequence> sequences = greedy.generate(prefixes, config, eosIds, false);
        List<Annotation> results = new ArrayList<>(rows.size());
        for (GeneratedSequence s : sequences) {
            String text = prompts.decode(s.tokenIds(), true).strip();
            results.add(new Annotation(s.tokenIds(), text, s.score(),
                    List.of(new Annotation.Sequence(s.tokenIds(), text, s.score())), List.of()));
        }
        return results;
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
