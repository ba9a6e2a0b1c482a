package dev.loupe.model.llava;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.CandidateScorer;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderRunners;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.llm.LlamaConfig;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.llm.TextGenerator;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.vlm.DelegatingAnnotator;
import dev.loupe.model.vlm.PrefixLanguageModelAnnotator;
import java.io.IOException;
import java.nio.file.Path;

/**
 * LLaVA-1.5 over ONNX Runtime: the prompt is wrapped in the conversation template (see {@link LlavaPromptEncoder}),
 * its {@code <image>} placeholders are replaced in place by the image's projected CLIP features
 * ({@link LlavaPrefixEncoder}; with the device-bound runner the features stay in the execution provider's memory and
 * are spliced there: {@link BoundLlavaImageSide}), and the LLaMA decoder generates (through {@link TextGenerator}) or scores candidates
 * (task RANK, through {@link CandidateScorer}) in {@link PrefixLanguageModelAnnotator}. The decoder runs through the
 * runner {@link RuntimeOptions#runner()} asks for ({@link DecoderRunners}: the device-bound one serves the fused LLaMA
 * decoder, as for InstructBLIP-Vicuna). Thread-safe; one instance serves all the subtasks of a process.
 */
public final class LlavaAnnotator extends DelegatingAnnotator {
    private final LlavaPrefixEncoder prefix;
    private final StepDecoder language;

    private LlavaAnnotator(PrefixLanguageModelAnnotator<int[]> annotator, LlavaPrefixEncoder prefix,
                           StepDecoder language) {
        super(annotator);
        this.prefix = prefix;
        this.language = language;
    }

    /** Loads a converted model package. */
    public static LlavaAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        return open(packageDir, Manifest.read(packageDir), options);
    }

    /** Loads a converted model package whose manifest has been read already. */
    public static LlavaAnnotator open(Path packageDir, Manifest manifest, RuntimeOptions options) throws IOException {
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
        LlavaImageSide encoder = null;
        StepDecoder language = null;
        try {
            language = DecoderRunners.open(manifest.graph(packageDir, LlavaPackage.GRAPH_EMBED),
                    manifest.graph(packageDir, LlavaPackage.GRAPH_DECODER), llama,
                    prompts.tokenizer().specialTokens().pad(),
                    DecoderRunners.fused(manifest.dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText("plain")),
                    options);
            Path imageGraph = manifest.graph(packageDir, LlavaPackage.GRAPH_IMAGE);
            encoder = language instanceof DeviceBoundDecoder
                    ? BoundLlavaImageSide.open(imageGraph, config, llama.hiddenSize(), options)
                    : LlavaImageEncoder.open(imageGraph, config, options);
            LlavaPrefixEncoder prefix = new LlavaPrefixEncoder(prompts, encoder);
            return new LlavaAnnotator(new PrefixLanguageModelAnnotator<>(manifest, prefix, language), prefix, language);
        } catch (IOException | RuntimeException e) {
            prompts.close();
            closeQuietly(encoder);
            closeQuietly(language);
            throw new IOException("cannot load model package " + packageDir + ": " + e.getMessage(), e);
        }
    }


    /**
     * The image side, for parity diagnostics: {@link LlavaImageEncoder} with the Java-API decoder runner,
     * {@link BoundLlavaImageSide} (features kept in the device's memory) with the device-bound one.
     */
    public LlavaImageSide imageEncoder() {
        return prefix.images();
    }

    /** The language model (through the runner the options chose), for parity diagnostics. */
    public StepDecoder languageModel() {
        return language;
    }

    /** The input ids a prompt becomes (templated, image placeholders expanded, BOS first). */
    public int[] inputIds(String prompt) throws AnnotationException {
        return prefix.prompts().encode(prompt, 0);
    }

}
