package dev.loupe.model.llava;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.text.LanguageTokenizer;
import dev.loupe.model.text.SpecialTokenIds;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Turns a request's plain prompt into LLaVA-1.5 input ids as transformers' {@code LlavaProcessor} does, offline,
 * from the package's {@code tokenizer.json} (Hugging Face tokenizers via DJL).
 *
 * <p>Templating lives here, not in the pipeline, so requests and the command line stay model-agnostic: a prompt
 * without {@code <image>} is wrapped in the LLaVA-1.5 conversation template {@value #TEMPLATE_PREFIX}{prompt}{@value
 * #TEMPLATE_SUFFIX}; a prompt that already holds exactly one {@code <image>} is taken as templated by the caller
 * and used as is. The processor's step follows: the one {@code <image>} becomes {@code image_seq_length} copies
 * (patches, as {@code (size / patch)^2 + 1} minus the class token under strategy "default"), then the text is
 * tokenized with BOS. Thread-safe; close it to free the native tokenizer.
 */
public final class LlavaPromptEncoder implements AutoCloseable {
    public static final String IMAGE_TOKEN = "<image>";
    public static final String TEMPLATE_PREFIX = "USER: <image>\n";
    public static final String TEMPLATE_SUFFIX = " ASSISTANT:";

    private final LanguageTokenizer tokenizer;
    private final int imageSeqLength;
    private final int maxContextTokens;
    private final int maxPromptChars;

    private LlavaPromptEncoder(LanguageTokenizer tokenizer, int imageSeqLength, int maxContextTokens,
                               int maxPromptChars) {
        this.tokenizer = tokenizer;
        this.imageSeqLength = imageSeqLength;
        this.maxContextTokens = maxContextTokens;
        this.maxPromptChars = maxPromptChars;
    }

    /** From a converted package: its manifest's special tokens and the tokenizer it names. */
    public static LlavaPromptEncoder open(Path packageDir, Manifest manifest, LlavaConfig config,
                                          int maxContextTokens) throws IOException {
        Manifest.SpecialTokens t = manifest.specialTokens();
        if (t == null || t.eos() == null || t.eos().length == 0) {
            throw new IOException(packageDir + ": the manifest names no EOS token id");
        }
        SpecialTokenIds special = new SpecialTokenIds(t.bos() == null ? -1 : t.bos(), t.eos(),
                t.pad() == null ? t.eos()[0] : t.pad(), config.imageTokenIndex(), -1);
        String file = manifest.tokenizers() == null ? null : manifest.tokenizers().get("language_model");
        Path json = packageDir.resolve(file == null ? "tokenizer.json" : file);
        int maxPromptChars = 64 * maxContextTokens;
        return new LlavaPromptEncoder(LanguageTokenizer.open(json, special, maxPromptChars),
                config.imageSeqLength(), maxContextTokens, maxPromptChars);
    }

    /** The prompt as the model sees it: wrapped in the conversation template unless it holds {@code <image>}. */
    public static String template(String prompt) {
        return prompt.contains(IMAGE_TOKEN) ? prompt : TEMPLATE_PREFIX + prompt + TEMPLATE_SUFFIX;
    }

    /**
     * The input ids of a prompt: BOS, the templated text with {@code image_seq_length} image placeholders.
     *
     * @param maxNewTokens tokens the caller will generate (or score) after the prompt; they must fit too
     */
    public int[] encode(String prompt, int maxNewTokens) throws AnnotationException {
        if (prompt == null) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt is missing");
        }
        if (prompt.length() > maxPromptChars) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "the prompt has " + prompt.length()
                    + " characters, over the limit of " + maxPromptChars);
        }
        String text = template(prompt);
        int at = text.indexOf(IMAGE_TOKEN);
        if (text.indexOf(IMAGE_TOKEN, at + 1) >= 0) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt holds more than one " + IMAGE_TOKEN
                    + "; a request has one image");
        }
        String expanded = text.substring(0, at) + IMAGE_TOKEN.repeat(imageSeqLength)
                + text.substring(at + IMAGE_TOKEN.length());
        int[] ids = tokenizer.encode(expanded, true);
        int images = 0;
        for (int id : ids) {
            if (id == tokenizer.specialTokens().imageToken()) {
                images++;
            }
        }
        if (images != imageSeqLength) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt tokenizes to " + images
                    + " image tokens, expected " + imageSeqLength);
        }
        int total = ids.length + Math.max(maxNewTokens, 0);
        if (total > maxContextTokens) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "the prompt needs " + ids.length + " tokens ("
                    + imageSeqLength + " for the image) + " + maxNewTokens + " new tokens = " + total
                    + ", over the model's context of " + maxContextTokens);
        }
        return ids;
    }

    /** The ids a ranking candidate is scored on: see {@link LanguageTokenizer#encodeCandidate(String)}. */
    public int[] encodeCandidate(String candidate) throws AnnotationException {
        return tokenizer.encodeCandidate(candidate);
    }

    /** Text of generated ids, as {@code tokenizer.decode(ids, skip_special_tokens=...)}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /** The language model's tokenizer (candidates, decoding, special ids). */
    public LanguageTokenizer tokenizer() {
        return tokenizer;
    }

    public SpecialTokenIds specialTokens() {
        return tokenizer.specialTokens();
    }

    public int imageSeqLength() {
        return imageSeqLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
