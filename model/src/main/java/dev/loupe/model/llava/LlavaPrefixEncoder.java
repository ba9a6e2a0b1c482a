package dev.loupe.model.llava;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.text.LanguageTokenizer;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.vlm.TokenEmbeddings;
import dev.loupe.model.vlm.VisualPrefixEncoder;
import java.util.ArrayList;
import java.util.List;

/**
 * The LLaVA prefix: the token embeddings of the templated input ids, with the image-token positions replaced in
 * order by the row's projected CLIP features (transformers' {@code masked_scatter}).
 */
final class LlavaPrefixEncoder implements VisualPrefixEncoder<int[]> {
    private final LlavaPromptEncoder prompts;
    private final LlavaImageEncoder images;
    private final boolean deviceBound;

    /** @param deviceBound whether the decoder runs bound to the device (then the image side's bytes are reported) */
    LlavaPrefixEncoder(LlavaPromptEncoder prompts, LlavaImageEncoder images, boolean deviceBound) {
        this.prompts = prompts;
        this.images = images;
        this.deviceBound = deviceBound;
    }

    @Override
    public int[] encodePrompt(String prompt, int maxNewTokens) throws AnnotationException {
        return prompts.encode(prompt, maxNewTokens);
    }

    @Override
    public int[] inputIds(int[] prompt) {
        return prompt;
    }

    @Override
    public List<VisualPrefix> prefixes(List<ImageTensor> pixels, List<int[]> rows, TokenEmbeddings embeddings)
            throws AnnotationException {
        float[][][] features = images.encode(pixels);
        int imageToken = prompts.specialTokens().imageToken();
        // Image placeholders are looked up as id 0; their embeddings are replaced below.
        List<int[]> lookupIds = new ArrayList<>(rows.size());
        for (int[] ids : rows) {
            int[] plain = ids.clone();
            for (int p = 0; p < plain.length; p++) {
                if (plain[p] == imageToken) {
                    plain[p] = 0;
                }
            }
            lookupIds.add(plain);
        }
        float[][][] embeds;
        try {
            embeds = embeddings.lookup(lookupIds);
        } catch (IllegalArgumentException e) {
            throw TokenEmbeddings.failed(e);
        }
        List<VisualPrefix> prefixes = new ArrayList<>(rows.size());
        for (int k = 0; k < rows.size(); k++) {
            int[] ids = rows.get(k);
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
            prefixes.add(VisualPrefix.onHost(prefix)); // LLaVA's image side runs through the Java API
        }
        return prefixes;
    }

    @Override
    public VisionFeatureStats visionStats() {
        return images.visionFeatures().stats();
    }

    @Override
    public HostTrafficStats imageSideTraffic() {
        return deviceBound ? images.traffic() : HostTrafficStats.NONE;
    }

    @Override
    public LanguageTokenizer tokenizer() {
        return prompts.tokenizer();
    }

    LlavaPromptEncoder prompts() {
        return prompts;
    }

    LlavaImageEncoder images() {
        return images;
    }

    @Override
    public void close() {
        try {
            images.close();
        } catch (OrtException ignored) {
            // native resources are released with the environment anyway
        }
        prompts.close();
    }
}
