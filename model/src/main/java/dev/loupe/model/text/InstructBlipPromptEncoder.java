package dev.loupe.model.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Tokenizes prompts and decodes generated ids for InstructBLIP checkpoints exactly as transformers'
 * {@code InstructBlipProcessor} with the fast tokenizers does, offline, from the checkpoint's
 * {@code tokenizer.json} and {@code qformer_tokenizer/tokenizer.json} (Hugging Face tokenizers via DJL's
 * bundled native library; nothing is downloaded).
 *
 * <p>The LLM ids come with the tokenizer's own special tokens (Vicuna: BOS first; Flan-T5: EOS last);
 * {@link EncodedPrompt#inputIds()} adds the {@code num_query_tokens} image placeholders in front, as the
 * processor does. Also gives the special ids generation needs and the ids of ranking candidates.
 * BLIP-2 checkpoints have no Q-Former tokenizer (their Q-Former sees no text): the Q-Former ids are then empty.
 * Thread-safe; close it to free the native tokenizers.
 */
public final class InstructBlipPromptEncoder implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "true", "truncation", "false", "padding", "false");

    private final LanguageTokenizer llm;
    private final HuggingFaceTokenizer qformer;
    private final int numQueryTokens;
    private final PromptLimits limits;
    private final boolean qformerTruncatesLeft;

    private InstructBlipPromptEncoder(LanguageTokenizer llm, HuggingFaceTokenizer qformer, int numQueryTokens,
                                      PromptLimits limits, boolean qformerTruncatesLeft) {
        this.llm = llm;
        this.qformer = qformer;
        this.numQueryTokens = numQueryTokens;
        this.limits = limits;
        this.qformerTruncatesLeft = qformerTruncatesLeft;
    }

    /** Limits from the checkpoint's config: LLM and Q-Former position tables; no Q-Former truncation. */
    public static InstructBlipPromptEncoder fromCheckpoint(Path dir) throws IOException {
        return fromCheckpoint(dir, null);
    }

    /**
     * Reads config.json (num_query_tokens, image_token_index, text/qformer position limits),
     * generation_config.json, tokenizer_config.json, processor_config.json, tokenizer.json and
     * qformer_tokenizer/ (tokenizer.json, tokenizer_config.json's truncation_side) from {@code dir}.
     *
     * @param limits null for {@link #defaultLimits(Path)}
     */
    public static InstructBlipPromptEncoder fromCheckpoint(Path dir, PromptLimits limits) throws IOException {
        JsonNode config = readJson(dir.resolve("config.json"));
        JsonNode generation = readJsonIfExists(dir.resolve("generation_config.json"));
        JsonNode tokenizerConfig = readJsonIfExists(dir.resolve("tokenizer_config.json"));
        JsonNode processorConfig = readJsonIfExists(dir.resolve("processor_config.json"));
        JsonNode qformerTokenizerConfig = readJsonIfExists(dir.resolve("qformer_tokenizer").resolve("tokenizer_config.json"));
        int k = config.path("num_query_tokens").asInt(processorConfig.path("num_query_tokens").asInt(0));
        if (k <= 0) {
            throw new IOException("no num_query_tokens in " + dir.resolve("config.json") + " or processor_config.json");
        }
        JsonNode text = config.path("text_config");
        SpecialTokenIds special;
        // A throwaway tokenizer resolves special tokens named only by their text.
        try (HuggingFaceTokenizer llm = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), OPTIONS)) {
            int imageToken = firstInt(config.path("image_token_index"), config.path("image_token_id"));
            if (imageToken < 0) {
                imageToken = tokenId(llm, "<image>");
            }
            if (imageToken < 0) {
                throw new IOException(dir + ": no image_token_index in config.json and no <image> token: a legacy"
                        + " InstructBLIP checkpoint, which this encoder does not support");
            }
            int bos = firstInt(generation.path("bos_token_id"), text.path("bos_token_id"), config.path("bos_token_id"));
            if (bos < 0) {
                bos = tokenId(llm, tokenText(tokenizerConfig.path("bos_token")));
            }
            int[] eos = ints(generation.path("eos_token_id"));
            if (eos.length == 0) {
                eos = ints(text.path("eos_token_id"));
            }
            if (eos.length == 0) {
                int id = tokenId(llm, tokenText(tokenizerConfig.path("eos_token")));
                eos = id < 0 ? new int[0] : new int[]{id};
            }
            if (eos.length == 0) {
                throw new IOException(dir + ": cannot find the EOS id (generation_config.json, config.json, tokenizer_config.json)");
            }
            int pad = firstInt(generation.path("pad_token_id"), text.path("pad_token_id"), config.path("pad_token_id"));
            if (pad < 0) {
                pad = tokenId(llm, tokenText(tokenizerConfig.path("pad_token")));
            }
            int decoderStart = firstInt(generation.path("decoder_start_token_id"), text.path("decoder_start_token_id"),
                    config.path("decoder_start_token_id"));
            special = new SpecialTokenIds(bos, eos, pad, imageToken, decoderStart);
        }
        boolean left = "left".equals(qformerTokenizerConfig.path("truncation_side").asText("right"));
        Path qformerTokenizer = dir.resolve("qformer_tokenizer").resolve("tokenizer.json");
        return create(dir.resolve("tokenizer.json"), Files.isRegularFile(qformerTokenizer) ? qformerTokenizer : null, k,
                special, limits != null ? limits : defaultLimits(config), left);
    }

    /**
     * From explicit parts, e.g. a model package's manifest.
     *
     * @param qformerTruncatesLeft where {@link PromptLimits#truncateQformer()} cuts: the Q-Former tokenizer's
     *                             {@code truncation_side} is "left" for InstructBLIP
     * @param qformerTokenizerJson null for a Q-Former without text input (BLIP-2)
     */
    public static InstructBlipPromptEncoder create(Path llmTokenizerJson, Path qformerTokenizerJson, int numQueryTokens,
                                                   SpecialTokenIds special, PromptLimits limits,
                                                   boolean qformerTruncatesLeft) throws IOException {
        if (numQueryTokens <= 0) {
            throw new IllegalArgumentException("numQueryTokens must be positive: " + numQueryTokens);
        }
        Objects.requireNonNull(special, "special");
        Objects.requireNonNull(limits, "limits");
        LanguageTokenizer llm = LanguageTokenizer.open(llmTokenizerJson, special, limits.maxPromptChars());
        try {
            HuggingFaceTokenizer qformer = qformerTokenizerJson == null ? null
                    : HuggingFaceTokenizer.newInstance(qformerTokenizerJson, OPTIONS);
            return new InstructBlipPromptEncoder(llm, qformer, numQueryTokens, limits, qformerTruncatesLeft);
        } catch (IOException | RuntimeException e) {
            llm.close();
            throw e;
        }
    }

    /** LLM context from text_config.max_position_embeddings, Q-Former text from qformer_config's; no truncation. */
    public static PromptLimits defaultLimits(Path dir) throws IOException {
        return defaultLimits(readJson(dir.resolve("config.json")));
    }

    private static PromptLimits defaultLimits(JsonNode config) {
        int context = config.path("text_config").path("max_position_embeddings").asInt(2048);
        int qformer = config.path("qformer_config").path("max_position_embeddings").asInt(512);
        return new PromptLimits(context, qformer, false, 64 * context);
    }

    /** Encodes a prompt that will generate no tokens. */
    public EncodedPrompt encode(String prompt) throws AnnotationException {
        return encode(prompt, 0);
    }

    /**
     * @param maxNewTokens tokens the caller will generate (or score) after the prompt; they must fit too
     * @throws AnnotationException PROMPT_TOO_LONG when over the limits, INVALID_REQUEST for a null prompt
     */
    public EncodedPrompt encode(String prompt, int maxNewTokens) throws AnnotationException {
        if (prompt == null) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "the prompt is missing");
        }
        if (prompt.length() > limits.maxPromptChars()) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "the prompt has " + prompt.length()
                    + " characters, over the limit of " + limits.maxPromptChars());
        }
        int[] text = llm.encode(prompt, true);
        int total = numQueryTokens + text.length + Math.max(maxNewTokens, 0);
        if (total > limits.maxContextTokens()) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "the prompt needs " + numQueryTokens + " image + "
                    + text.length + " text + " + maxNewTokens + " new tokens = " + total + ", over the model's context of "
                    + limits.maxContextTokens());
        }
        return new EncodedPrompt(text, encodeQformer(prompt), numQueryTokens, llm.specialTokens().imageToken());
    }

    private int[] encodeQformer(String prompt) throws AnnotationException {
        if (qformer == null) {
            return new int[0];
        }
        int[] ids = LanguageTokenizer.toInts(qformer.encode(prompt, true, false).getIds());
        int max = limits.maxQformerTokens();
        if (ids.length <= max) {
            return ids;
        }
        if (!limits.truncateQformer()) {
            throw new AnnotationException(ErrorCode.PROMPT_TOO_LONG, "the prompt has " + ids.length
                    + " Q-Former tokens, over the Q-Former's limit of " + max);
        }
        // Keep [CLS] and [SEP]; drop body tokens from the tokenizer's truncation side.
        int[] out = new int[max];
        out[0] = ids[0];
        out[max - 1] = ids[ids.length - 1];
        int body = max - 2;
        int from = qformerTruncatesLeft ? ids.length - 1 - body : 1;
        System.arraycopy(ids, from, out, 1, body);
        return out;
    }

    /** The ids a ranking candidate is scored on: see {@link LanguageTokenizer#encodeCandidate(String)}. */
    public int[] encodeCandidate(String candidate) throws AnnotationException {
        return llm.encodeCandidate(candidate);
    }

    /** Text of generated ids, as {@code tokenizer.decode(ids, skip_special_tokens=...)}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return llm.decode(ids, skipSpecialTokens);
    }

    /** The language model's tokenizer (candidates, decoding, special ids). */
    public LanguageTokenizer tokenizer() {
        return llm;
    }

    public SpecialTokenIds specialTokens() {
        return llm.specialTokens();
    }

    public int numQueryTokens() {
        return numQueryTokens;
    }

    public int imageTokenId() {
        return llm.specialTokens().imageToken();
    }

    public PromptLimits limits() {
        return limits;
    }

    @Override
    public void close() {
        llm.close();
        if (qformer != null) {
            qformer.close();
        }
    }

    /** The id of a token that the tokenizer keeps whole (a special token), or -1. */
    private static int tokenId(HuggingFaceTokenizer tokenizer, String token) {
        if (token == null || token.isEmpty()) {
            return -1;
        }
        long[] ids = tokenizer.encode(token, false, false).getIds();
        return ids.length == 1 ? Math.toIntExact(ids[0]) : -1;
    }

    /** A token in tokenizer_config.json: a string or {"content": ...}. */
    private static String tokenText(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        return node.path("content").isTextual() ? node.path("content").asText() : null;
    }

    private static int firstInt(JsonNode... nodes) {
        for (JsonNode n : nodes) {
            if (n.isInt()) {
                return n.asInt();
            }
            if (n.isArray() && n.size() > 0 && n.get(0).isInt()) {
                return n.get(0).asInt();
            }
        }
        return -1;
    }

    private static int[] ints(JsonNode node) {
        if (node.isInt()) {
            return new int[]{node.asInt()};
        }
        if (node.isArray()) {
            int[] out = new int[node.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = node.get(i).asInt();
            }
            return out;
        }
        return new int[0];
    }

    private static JsonNode readJson(Path file) throws IOException {
        return JSON.readTree(Files.readAllBytes(file));
    }

    private static JsonNode readJsonIfExists(Path file) throws IOException {
        return Files.isRegularFile(file) ? readJson(file) : MissingNode.getInstance();
    }
}
