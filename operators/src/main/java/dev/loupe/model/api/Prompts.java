package dev.loupe.model.api;

import java.util.List;

/** The InstructBLIP paper's task templates, and how questions and OCR tokens become a prompt. */
public final class Prompts {
    public static final String CAPTION_TEMPLATE = "A short image description:";
    public static final String VQA_TEMPLATE = "Question: {} Short answer:";

    private Prompts() {}

    /** Wraps a bare question in the VQA template. */
    public static String question(String question) {
        return VQA_TEMPLATE.replace("{}", question.strip());
    }

    /**
     * The prompt for a request: a verbatim prompt wins; else a question is wrapped; else the caption template.
     * OCR tokens, when given, are appended as in the paper's scene-text evaluation.
     */
    public static String resolve(String prompt, String question, List<String> ocrTokens) {
        String base;
        if (prompt != null && !prompt.isBlank()) {
            base = prompt;
        } else if (question != null && !question.isBlank()) {
            base = question(question);
        } else {
            base = CAPTION_TEMPLATE;
        }
        if (ocrTokens == null || ocrTokens.isEmpty()) {
            return base;
        }
        return base + " OCR tokens: " + String.join(", ", ocrTokens) + ".";
    }
}
