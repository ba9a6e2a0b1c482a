package dev.loupe.model.llava;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.text.SpecialTokenIds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

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

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "true", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final SpecialTokenIds special;
    private final int imageSeqLength;
    private final int maxContextTokens;
    private final int maxPromptChars;
    private final boolean candidateNeedsLeadingSpace;

    private LlavaPromptEncoder(HuggingFaceTokenizer tokenizer, SpecialTokenIds special, int imageSeqLength,
                               int maxContextTokens, boolean candidateNeedsLeadingSpace) {
        this.tokenizer = tokenizer;
        this.special = special;
        this.imageSeqLength = imageSeqLength;
        this.maxContextTokens = maxContextTokens;
        this.maxPromptChars = 64 * maxContextTokens;
        this.candidateNeedsLeadingSpace = candidateNeedsLeadingSpace;
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
        JsonNode tokenizerJson = JSON.readTree(Files.readAllBytes(json));
        boolean byteLevel = tokenizerJson.path("pre_tokenizer").toString().contains("\"ByteLevel\"")
                || tokenizerJson.path("decoder").toString().contains("\"ByteLevel\"");
        return new LlavaPromptEncoder(HuggingFaceTokenizer.newInstance(json, OPTIONS), special,
                config.imageSeqLength(), maxContextTokens, byteLevel);
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
        int[] ids = toInts(tokenizer.encode(expanded, true, false).getIds());
        int images = 0;
        for (int id : ids) {
            if (id == special.imageToken()) {
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

    /**
     * The ids a ranking candidate is scored on: the bare candidate without special tokens, then EOS (a leading
     * space for byte-level BPE tokenizers; SentencePiece's dummy prefix supplies it otherwise).
     */
    public int[] encodeCandidate(String candidate) throws AnnotationException {
        if (candidate == null || candidate.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty ranking candidate");
        }
        if (candidate.length() > maxPromptChars) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "a candidate has " + candidate.length()
                    + " characters");
        }
        long[] bare = tokenizer.encode(candidateNeedsLeadingSpace ? " " + candidate : candidate, false, false)
                .getIds();
        int[] ids = Arrays.copyOf(toInts(bare), bare.length + 1);
        ids[bare.length] = special.primaryEos();
        return ids;
    }

    /** Text of generated ids, as {@code tokenizer.decode(ids, skip_special_tokens=...)}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        Objects.requireNonNull(ids, "ids");
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, skipSpecialTokens);
    }

    public SpecialTokenIds specialTokens() {
        return special;
    }

    public int imageSeqLength() {
        return imageSeqLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }
}
