package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal but valid Hugging Face tokenizer files for a generated InstructBLIP checkpoint: a lower-casing
 * word-level tokenizer for the language model ({@code <unk>} 0, {@code <s>} 1, {@code </s>} 2, English words, filler
 * tokens, {@code [PAD]} at vocab-2 and {@code <image>} at vocab-1) and a BERT WordPiece tokenizer for the Q-Former
 * ({@code [PAD] [UNK] [CLS] [SEP] [MASK]} 0..4, words, filler, {@code [DEC]} last). Every id below the vocabulary
 * size is a token, so any generated id decodes.
 */
final class GeneratedTokenizers {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final int LLM_UNK = 0;
    static final int LLM_BOS = 1;
    static final int LLM_EOS = 2;

    /** Words of the usual caption and VQA prompts and answers, plus punctuation. */
    static final List<String> WORDS = List.of(
            ":", "?", ".", ",", "!", "'", "a", "an", "the", "short", "image", "description", "question", "answer",
            "what", "is", "in", "this", "picture", "photo", "of", "on", "with", "and", "are", "there", "how", "many",
            "color", "colour", "which", "who", "where", "does", "do", "it", "to", "at", "by", "from", "for", "man",
            "woman", "person", "people", "dog", "cat", "car", "street", "table", "room", "red", "blue", "green",
            "white", "black", "yellow", "brown", "gray", "orange", "one", "two", "three", "four", "yes", "no", "sitting",
            "standing", "walking", "holding", "wearing", "next", "near", "front", "top", "group", "large", "small",
            "describe", "detail", "write", "caption", "text", "sign", "tree", "sky", "water", "building", "road",
            "field", "grass", "plate", "food", "bird", "horse", "train", "bus", "boat", "child", "kitchen", "window");

    private GeneratedTokenizers() {}

    static int llmPad(int vocab) {
        return vocab - 2;
    }

    static int llmImage(int vocab) {
        return vocab - 1;
    }

    static int minVocab() {
        return WORDS.size() + 5;
    }

    /** tokenizer.json, tokenizer_config.json, special_tokens_map.json and added_tokens.json of the language model. */
    static void writeLanguageModel(Path dir, int vocab) throws IOException {
        check(vocab);
        Map<String, Integer> ids = new LinkedHashMap<>();
        ids.put("<unk>", LLM_UNK);
        ids.put("<s>", LLM_BOS);
        ids.put("</s>", LLM_EOS);
        fill(ids, vocab - 2, "t");
        ids.put("[PAD]", llmPad(vocab));
        ids.put("<image>", llmImage(vocab));

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : List.of("<unk>", "<s>", "</s>", "[PAD]", "<image>")) {
            addedToken(added, ids.get(s), s);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.set("post_processor", template("<s>", LLM_BOS, null, 0));
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", JSON.valueToTree(ids));
        model.put("unk_token", "<unk>");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode config = JSON.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>").put("pad_token", "[PAD]");
        config.put("padding_side", "left").put("add_bos_token", true).put("add_eos_token", false);
        config.put("model_max_length", 2048);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);

        ObjectNode special = JSON.createObjectNode();
        special.put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>").put("pad_token", "[PAD]");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("special_tokens_map.json").toFile(), special);

        ObjectNode addedJson = JSON.createObjectNode();
        addedJson.put("<image>", llmImage(vocab)).put("[PAD]", llmPad(vocab));
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("added_tokens.json").toFile(), addedJson);
    }

    /** qformer_tokenizer/: a BERT WordPiece tokenizer (tokenizer.json, tokenizer_config.json, vocab.txt). */
    static void writeQFormer(Path dir, int vocab) throws IOException {
        check(vocab);
        Files.createDirectories(dir);
        Map<String, Integer> ids = new LinkedHashMap<>();
        List<String> specials = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
        for (String s : specials) {
            ids.put(s, ids.size());
        }
        fill(ids, vocab - 1, "q");
        ids.put("[DEC]", vocab - 1);

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : specials) {
            addedToken(added, ids.get(s), s);
        }
        addedToken(added, vocab - 1, "[DEC]");
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "BertNormalizer").put("clean_text", true).put("handle_chinese_chars", true);
        normalizer.putNull("strip_accents");
        normalizer.put("lowercase", true);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        root.set("post_processor", template("[CLS]", 2, "[SEP]", 3));
        root.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece");
        model.put("unk_token", "[UNK]");
        model.put("continuing_subword_prefix", "##");
        model.put("max_input_chars_per_word", 100);
        model.set("vocab", JSON.valueToTree(ids));
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode config = JSON.createObjectNode();
        config.put("tokenizer_class", "BertTokenizer").put("do_lower_case", true).put("truncation_side", "left");
        config.put("bos_token", "[DEC]").put("cls_token", "[CLS]").put("sep_token", "[SEP]").put("pad_token", "[PAD]");
        config.put("unk_token", "[UNK]").put("mask_token", "[MASK]").put("model_max_length", 512);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        Files.write(dir.resolve("vocab.txt"), new ArrayList<>(ids.keySet()));
    }

    private static void check(int vocab) {
        if (vocab < minVocab()) {
            throw new IllegalArgumentException("vocabulary of " + vocab + " is too small: at least " + minVocab());
        }
    }

    /** Adds the words, then filler tokens prefix+id, until ids holds {@code upTo} entries. */
    private static void fill(Map<String, Integer> ids, int upTo, String prefix) {
        for (String w : WORDS) {
            if (ids.size() < upTo) {
                ids.put(w, ids.size());
            }
        }
        while (ids.size() < upTo) {
            ids.put(prefix + ids.size(), ids.size());
        }
    }

    private static void addedToken(ArrayNode added, int id, String content) {
        added.addObject().put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
    }

    /** TemplateProcessing: first, the sequence, and last when given (pairs likewise). */
    private static ObjectNode template(String first, int firstId, String last, int lastId) {
        ObjectNode t = JSON.createObjectNode();
        t.put("type", "TemplateProcessing");
        ArrayNode single = t.putArray("single");
        ArrayNode pair = t.putArray("pair");
        special(single, first);
        special(pair, first);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        if (last != null) {
            special(single, last);
            special(pair, last);
        }
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        if (last != null) {
            special(pair, last);
        }
        ObjectNode specials = t.putObject("special_tokens");
        specialEntry(specials, first, firstId);
        if (last != null) {
            specialEntry(specials, last, lastId);
        }
        return t;
    }

    private static void special(ArrayNode seq, String token) {
        seq.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
    }

    private static void specialEntry(ObjectNode specials, String token, int id) {
        ObjectNode e = specials.putObject(token);
        e.put("id", token);
        e.putArray("ids").add(id);
        e.putArray("tokens").add(token);
    }
}
