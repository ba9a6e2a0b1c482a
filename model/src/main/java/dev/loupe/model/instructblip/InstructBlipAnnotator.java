package dev.loupe.model.instructblip;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.llm.DecoderRunners;
import dev.loupe.model.llm.DeviceBoundDecoder;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.t5.T5Config;
import dev.loupe.model.t5.T5Runner;
import dev.loupe.model.t5.T5StepDecoder;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import dev.loupe.model.vlm.DelegatingAnnotator;
import dev.loupe.model.vlm.PrefixLanguageModelAnnotator;
import dev.loupe.model.vlm.TokenEmbeddings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The Q-Former families over ONNX Runtime: image encoder and Q-Former (instruction-aware for InstructBLIP, queries
 * only for BLIP-2), then the language model after the projected query outputs and the prompt. A decoder-only model
 * (LLaMA/Vicuna, OPT: {@link DecoderGraphs}) continues that prefix; a Flan-T5 model ({@link T5StepDecoder}) reads it
 * as its encoder input, the prompt ending with EOS, as transformers does for encoder-decoder models. The
 * family-specific part is the input ({@link InstructBlipPrefixEncoder}); batching, generation and ranking are
 * {@link PrefixLanguageModelAnnotator}'s. Thread-safe; one instance serves all the subtasks of a process.
 */
public final class InstructBlipAnnotator extends DelegatingAnnotator {
    private final InstructBlipPrefixEncoder inputs;
    private final StepDecoder language;

    private InstructBlipAnnotator(Manifest manifest, InstructBlipPrefixEncoder inputs, StepDecoder language) {
        super(new PrefixLanguageModelAnnotator<>(manifest, inputs, language));
        this.inputs = inputs;
        this.language = language;
    }

    /** Loads a converted model package of any of {@link InstructBlipPackage#FAMILIES}. */
    public static InstructBlipAnnotator open(Path packageDir, RuntimeOptions options) throws IOException {
        return open(packageDir, Manifest.read(packageDir), options);
    }

    /** Loads a converted model package whose manifest has been read already. */
    public static InstructBlipAnnotator open(Path packageDir, Manifest manifest, RuntimeOptions options)
            throws IOException {
        if (!InstructBlipPackage.FAMILIES.contains(manifest.family())) {
            throw new IOException(packageDir + " holds a '" + manifest.family() + "' model, not one of "
                    + InstructBlipPackage.FAMILIES);
        }
        InstructBlipConfig config = InstructBlipConfig.load(packageDir);
        boolean t5 = InstructBlipPackage.isT5(manifest.family());
        InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(packageDir);
        QueryEncoder encoder = null;
        StepDecoder language = null;
        try {
            if (t5) {
                language = new T5StepDecoder(T5Runner.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                        manifest.graph(packageDir, InstructBlipPackage.GRAPH_ENCODER),
                        manifest.graph(packageDir, InstructBlipPackage.GRAPH_DECODER),
                        T5Config.fromJson(config.textConfig()), options));
            } else {
                language = DecoderRunners.open(manifest.graph(packageDir, InstructBlipPackage.GRAPH_EMBED),
                        manifest.graph(packageDir, InstructBlipPackage.GRAPH_DECODER),
                        DecoderGraphs.config(config.textConfig()), prompts.specialTokens().pad(),
                        DecoderRunners.fused(manifest.dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText("plain")),
                        options);
            }
            Path vision = manifest.graph(packageDir, InstructBlipPackage.GRAPH_VISION);
            Path qformer = manifest.graph(packageDir, InstructBlipPackage.GRAPH_QFORMER);
            // with the decoder on the device, the image side keeps the vision output there too
            encoder = language instanceof DeviceBoundDecoder
                    ? BoundImageSide.open(vision, qformer, config, options)
                    : ImageEncoder.open(vision, qformer, config, options);
            // T5 positions are relative: the new tokens do not count against the encoder input.
            return new InstructBlipAnnotator(manifest, new InstructBlipPrefixEncoder(prompts, encoder, !t5), language);
        } catch (IOException | RuntimeException e) {
            prompts.close();
            closeQuietly(encoder);
            closeQuietly(language);
            throw new IOException("cannot load model package " + packageDir + ": " + e.getMessage(), e);
        }
    }


    /** The language model's input of each row as host rows (for parity checks of its stages; Java-API runner). */
    List<float[][]> languageInputs(List<ImageTensor> images, List<EncodedPrompt> prompts) throws AnnotationException {
        List<VisualPrefix> prefixes = inputs.prefixes(images, prompts, new TokenEmbeddings(language));
        try {
            return prefixes.stream().map(VisualPrefix::rows).toList();
        } finally {
            VisualPrefix.closeAll(prefixes);
        }
    }

    StepDecoder language() {
        return language;
    }

    /** The Java-API image side (for stage parity checks); not there when the image side runs bound to the device. */
    ImageEncoder imageEncoder() {
        if (inputs.images() instanceof ImageEncoder encoder) {
            return encoder;
        }
        throw new IllegalStateException("the image side runs bound to the device (device-bound runner)");
    }

    /** The image side this model runs. */
    QueryEncoder queryEncoder() {
        return inputs.images();
    }

    InstructBlipPromptEncoder prompts() {
        return inputs.prompts();
    }

}
