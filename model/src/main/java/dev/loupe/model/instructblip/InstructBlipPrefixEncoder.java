package dev.loupe.model.instructblip;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import dev.loupe.model.text.LanguageTokenizer;
import dev.loupe.model.vlm.TokenEmbeddings;
import dev.loupe.model.vlm.VisualPrefixEncoder;
import java.util.ArrayList;
import java.util.List;

/**
 * The InstructBLIP / BLIP-2 language model input: the projected Q-Former queries (which saw the row's instruction;
 * BLIP-2's Q-Former sees none) followed by the prompt's token embeddings (a decoder-only model's prefix, a T5
 * model's encoder input).
 */
final class InstructBlipPrefixEncoder implements VisualPrefixEncoder<EncodedPrompt> {
    private final InstructBlipPromptEncoder prompts;
    private final QueryEncoder encoder;
    private final boolean newTokensInContext;

    /**
     * @param newTokensInContext whether generated tokens share the prompt's context limit (a decoder-only model;
     *                           not a T5 encoder input)
     */
    InstructBlipPrefixEncoder(InstructBlipPromptEncoder prompts, QueryEncoder encoder, boolean newTokensInContext) {
        this.prompts = prompts;
        this.encoder = encoder;
        this.newTokensInContext = newTokensInContext;
    }

    @Override
    public EncodedPrompt encodePrompt(String prompt, int maxNewTokens) throws AnnotationException {
        return prompts.encode(prompt, newTokensInContext ? maxNewTokens : 0);
    }

    InstructBlipPromptEncoder prompts() {
        return prompts;
    }

    QueryEncoder images() {
        return encoder;
    }

    @Override
    public int[] inputIds(EncodedPrompt prompt) {
        return prompt.inputIds();
    }

    @Override
    public List<VisualPrefix> prefixes(List<ImageTensor> images, List<EncodedPrompt> rows, TokenEmbeddings embeddings)
            throws AnnotationException {
        return prefixes(images, rows, embeddings, false);
    }

    @Override
    public List<VisualPrefix> prefixesOnCaller(List<ImageTensor> images, List<EncodedPrompt> rows,
                                               TokenEmbeddings embeddings) throws AnnotationException {
        return prefixes(images, rows, embeddings, true);
    }

    private List<VisualPrefix> prefixes(List<ImageTensor> images, List<EncodedPrompt> rows,
                                        TokenEmbeddings embeddings, boolean onCaller) throws AnnotationException {
        long[][] qformerIds = new long[rows.size()][];
        List<int[]> textIds = new ArrayList<>(rows.size());
        for (int k = 0; k < rows.size(); k++) {
            qformerIds[k] = toLongs(rows.get(k).qformerIds());
            textIds.add(rows.get(k).textIds());
        }
        float[][][] textEmbeds = embeddings.lookup(textIds);
        return onCaller ? encoder.prefixesOnCaller(images, qformerIds, textEmbeds)
                : encoder.prefixes(images, qformerIds, textEmbeds);
    }

    @Override
    public boolean buildsOnCaller() {
        return encoder.buildsOnCaller();
    }

    @Override
    public VisionFeatureStats visionStats() {
        return encoder.visionStats();
    }

    @Override
    public HostTrafficStats imageSideTraffic() {
        return encoder.traffic();
    }

    @Override
    public LanguageTokenizer tokenizer() {
        return prompts.tokenizer();
    }

    @Override
    public void close() {
        try {
            encoder.close();
        } catch (OrtException ignored) {
            // native resources are released with the environment anyway
        }
        prompts.close();
    }

    private static long[] toLongs(int[] ids) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        return out;
    }
}
