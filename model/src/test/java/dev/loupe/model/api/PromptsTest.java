package dev.loupe.model.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptsTest {

    @Test
    void aVerbatimPromptWinsThenAQuestionThenTheCaptionTemplate() {
        assertThat(Prompts.resolve("Describe it.", "why?", List.of())).isEqualTo("Describe it.");
        assertThat(Prompts.resolve(null, " why? ", List.of())).isEqualTo("Question: why? Short answer:");
        assertThat(Prompts.resolve(" ", null, null)).isEqualTo("A short image description:");
    }

    @Test
    void ocrTokensGoInFrontOfTheInstructionAndAreCapped() {
        assertThat(Prompts.resolve(null, "what does the sign say?", List.of("STOP", " ", "ahead")))
                .isEqualTo("OCR tokens: STOP, ahead. Question: what does the sign say? Short answer:");
        String many = Prompts.resolve(null, "q", Collections.nCopies(100, "w"));
        assertThat(many.split(", ")).hasSize(Prompts.MAX_OCR_TOKENS);
    }
}
