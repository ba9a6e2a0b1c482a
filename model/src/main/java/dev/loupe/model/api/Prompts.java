package dev.loupe.model.api;

import java.util.List;

/** The InstructBLIP paper's task templates, and how questions and OCR tokens become a prompt. */
public final class Prompts {
    public static final String CAPTION_TEMPLATE = "A short image description:";
    public static final String VQA_TEMPLATE = "Question: {} Short answer:";
    /** Scene-text images can carry hundreds of OCR words; the paper's evaluation keeps the first 30. */
    public static final int MAX_OCR_TOKENS = 30;

    private Prompts() {}

    /** Wraps a bare question in the VQA template. */
    public static String question(String question) {
        return VQA_TEMPLATE.replace("{}", question.strip());
    }

    /**
     * The prompt for a request: a verbatim prompt wins; else a question is wrapped; else the caption template.
     * OCR tokens, when given, are put in front of the instruction as in the paper's scene-text evaluation
     * ("OCR tokens: a, b, c. Question: ... Short answer:"), at most {@value #MAX_OCR_TOKENS} of them, as LAVIS does.
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
        List<String> kept = ocrTokens.stream().map(String::strip).filter(t -> !t.isEmpty()).limit(MAX_OCR_TOKENS).toList();
        return kept.isEmpty() ? base : "OCR tokens: " + String.join(", ", kept) + ". " + base;
    }
}
