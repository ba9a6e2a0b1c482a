package dev.loupe.model.api;

/** What the model is asked to do with an image. */
public enum Task {
    /** Generate a description; the caption template is the default prompt. */
    CAPTION,
    /** Answer a question; a bare question is wrapped in the VQA template. */
    VQA,
    /** Score given candidate answers by likelihood instead of generating. */
    RANK;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Task fromWireName(String name) {
        return Task.valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
    }
}
