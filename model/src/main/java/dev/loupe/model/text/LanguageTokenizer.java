package dev.loupe.model.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * The language model's tokenizer as every prompt encoder needs it: ids of text, ids of ranking candidates, text of
 * generated ids, and the special ids. Built offline from a {@code tokenizer.json} (Hugging Face tokenizers via DJL).
 * Thread-safe; close it to free the native tokenizer.
 */
public final class LanguageTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "true", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final SpecialTokenIds special;
    private final int maxCandidateChars;
    private final boolean candidateNeedsLeadingSpace;

    private LanguageTokenizer(HuggingFaceTokenizer tokenizer, SpecialTokenIds special, int maxCandidateChars,
                              boolean candidateNeedsLeadingSpace) {
        this.tokenizer = tokenizer;
        this.special = special;
        this.maxCandidateChars = maxCandidateChars;
        this.candidateNeedsLeadingSpace = candidateNeedsLeadingSpace;
    }

    /**
     * Loads {@code tokenizerJson}; whether it is byte-level BPE (candidates then get a leading space) is read from
     * its pre-tokenizer and decoder.
     *
     * @param maxCandidateChars longest ranking candidate accepted, in characters
     */
    public static LanguageTokenizer open(Path tokenizerJson, SpecialTokenIds special, int maxCandidateChars)
            throws IOException {
        Objects.requireNonNull(special, "special");
        JsonNode json = JSON.readTree(Files.readAllBytes(tokenizerJson));
        boolean byteLevel = json.path("pre_tokenizer").toString().contains("\"ByteLevel\"")
                || json.path("decoder").toString().contains("\"ByteLevel\"");
        return new LanguageTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS), special,
                maxCandidateChars, byteLevel);
    }

    /** The ids of a text, with the tokenizer's own special tokens when {@code addSpecialTokens}. */
    public int[] encode(String text, boolean addSpecialTokens) {
        return toInts(tokenizer.encode(text, addSpecialTokens, false).getIds());
    }

    /**
     * The ids a ranking candidate is scored on: the bare candidate without special tokens, then EOS.
     * SentencePiece tokenizers get the candidate as is (their dummy prefix supplies the space); byte-level
     * BPE tokenizers get a leading space so that the answer is a new word.
     */
    public int[] encodeCandidate(String candidate) throws AnnotationException {
        if (candidate == null || candidate.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "empty ranking candidate");
        }
        if (candidate.length() > maxCandidateChars) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "a candidate has " + candidate.length()
                    + " characters");
        }
        int[] bare = encode(candidateNeedsLeadingSpace ? " " + candidate : candidate, false);
        int[] ids = Arrays.copyOf(bare, bare.length + 1);
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

    @Override
    public void close() {
        tokenizer.close();
    }

    /** Tokenizer ids as ints (vocabularies fit). */
    public static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }
}
