package dev.loupe.model.instructblip;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.blip2.Blip2Package;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import dev.loupe.model.vlm.PrefixLanguageModelAnnotator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * InstructBLIP (Vicuna/LLaMA) over ONNX Runtime: image encoder and instruction-aware Q-Former, then the LLaMA
 * decoder generating after the projected query outputs and the prompt. Also runs BLIP-2 (OPT) packages, which
 * differ only in a Q-Former without text input and the OPT decoder ({@link DecoderGraphs}). The family-specific part
 * is the prefix ({@link InstructBlipPrefixEncoder}); batching, generation, ranking and failure isolation are
 * {@link PrefixLanguageModelAnnotator}'s. Thread-safe; one instance serves all the subtasks of a process.
 */
public final class InstructBlipAnnotator implements BatchAnnotator {
    private final PrefixLanguageModelAnnotator<EncodedPrompt> annotator;

    private InstructBlipAnnotator(PrefixLanguageModelAnnotator<EncodedPrompt> annotator) {
        this.annotator = annotator;
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
            return new InstructBlipAnnotator(new PrefixLanguageModelAnnotator<>(manifest,
                    new InstructBlipPrefixEncoder(prompts, encoder), language));
        } catch (IOException | RuntimeException e) {
            prompts.close();
            closeQuietly(encoder);
            throw new IOException("cannot load model package " + packageDir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
        return annotator.annotate(batch);
    }

    @Override
    public String modelId() {
        return annotator.modelId();
    }

    @Override
    public String modelVersion() {
        return annotator.modelVersion();
    }

    @Override
    public void close() {
        annotator.close();
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
