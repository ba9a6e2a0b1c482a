package dev.loupe.model.llava;

/** The LLaVA-1.5 template the llava fixture's prompts are written in (test helper). */
final class LlavaTemplate {
    private LlavaTemplate() {}

    /** The plain prompt inside the template. */
    static String plain(String templated) {
        if (!templated.startsWith(LlavaPromptEncoder.TEMPLATE_PREFIX) || !templated.endsWith(LlavaPromptEncoder.TEMPLATE_SUFFIX)) {
            throw new IllegalArgumentException("not a LLaVA-1.5 templated prompt: " + templated);
        }
        return templated.substring(LlavaPromptEncoder.TEMPLATE_PREFIX.length(),
                templated.length() - LlavaPromptEncoder.TEMPLATE_SUFFIX.length());
    }
}
