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
import java.util.Arrays;
import java.util.List;

/**
 * The LLaVA prefix: the token embeddings of the templated input ids, with the image-token positions replaced in
 * order by the row's projected CLIP features (transformers' {@code masked_scatter}). The placeholders are one run
 * ({@link LlavaPromptEncoder} expands the prompt's one {@code <image>}), so a prefix is the prompt's embeddings before
 * it, the features, and the prompt's embeddings after it: only the prompt's own tokens are looked up, and the image
 * side ({@link LlavaImageSide}) places the features — as host rows, or left in the device's memory for the
 * device-bound decoder runner.
 */
final class LlavaPrefixEncoder implements VisualPrefixEncoder<int[]> {
    private final LlavaPromptEncoder prompts;
    private final LlavaImageSide images;

    LlavaPrefixEncoder(LlavaPromptEncoder prompts, LlavaImageSide images) {
        this.prompts = prompts;
        this.images = images;
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
        int imageToken = prompts.specialTokens().imageToken();
        int length = prompts.imageSeqLength();
        int[] at = new int[rows.size()];
        List<int[]> textIds = new ArrayList<>(rows.size());
        for (int k = 0; k < rows.size(); k++) {
            int[] ids = rows.get(k);
            at[k] = placeholders(ids, imageToken, length);
            int[] text = new int[ids.length - length];
            System.arraycopy(ids, 0, text, 0, at[k]);
            System.arraycopy(ids, at[k] + length, text, at[k], ids.length - at[k] - length);
            textIds.add(text);
        }
        float[][][] embeds;
        try {
            embeds = embeddings.lookup(textIds);
        } catch (IllegalArgumentException e) {
            throw TokenEmbeddings.failed(e);
        }
        float[][][] before = new float[rows.size()][][];
        float[][][] after = new float[rows.size()][][];
        for (int k = 0; k < rows.size(); k++) {
            before[k] = Arrays.copyOfRange(embeds[k], 0, at[k]);
            after[k] = Arrays.copyOfRange(embeds[k], at[k], embeds[k].length);
        }
        return images.prefixes(pixels, before, after);
    }

    /** Where the row's {@code length} image placeholders start; they must be one run. */
    private static int placeholders(int[] ids, int imageToken, int length) throws AnnotationException {
        int first = -1;
        int count = 0;
        for (int p = 0; p < ids.length; p++) {
            if (ids[p] == imageToken) {
                if (first < 0) {
                    first = p;
                }
                count++;
            }
        }
        if (count != length) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt has " + count
                    + " image tokens for " + length + " image features");
        }
        for (int p = first; p < first + length; p++) {
            if (ids[p] != imageToken) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt's " + length
                        + " image tokens are not one run");
            }
        }
        return first;
    }

    @Override
    public VisionFeatureStats visionStats() {
        return images.visionStats();
    }

    @Override
    public HostTrafficStats imageSideTraffic() {
        return images.traffic();
    }

    @Override
    public LanguageTokenizer tokenizer() {
        return prompts.tokenizer();
    }

    LlavaPromptEncoder prompts() {
        return prompts;
    }

    LlavaImageSide images() {
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
