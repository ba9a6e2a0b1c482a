package dev.loupe.flink.request;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.testing.TestRequests;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.schemas.AnnotationRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Prompts and questions: set means meant, so blank ones are refused rather than silently replaced. */
class RequestValidatorTest {
    private final RequestValidator validator = PipelineOptions.defaults().requestValidator(
            TaskDefaults.of(Map.of(Task.CAPTION, GenerationConfig.greedy(5), Task.VQA, GenerationConfig.greedy(5))));

    private void refused(AnnotationRequest.Builder request, String phrase) {
        assertThatThrownBy(() -> validator.validate(request.build()))
                .isInstanceOfSatisfying(AnnotationException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.getMessage()).contains(phrase);
                });
    }

    @Test
    void blankPromptsAndQuestionsAndVqaWithoutAQuestionAreInvalid() {
        refused(TestRequests.uri("a", "file:///a.png").setPrompt(""), "prompt is set but blank");
        refused(TestRequests.uri("a", "file:///a.png").setPrompt(" \n"), "prompt is set but blank");
        refused(TestRequests.uri("a", "file:///a.png").setQuestion(" "), "question is set but blank");
        refused(TestRequests.uri("a", "file:///a.png").setTask(dev.loupe.schemas.Task.VQA), "needs a question");
    }

    @Test
    void unsetPromptsUseTheTemplatesAndAVerbatimPromptServesVqa() throws Exception {
        assertThat(validator.validate(TestRequests.uri("a", "file:///a.png").build()).prompt)
                .isEqualTo(Prompts.CAPTION_TEMPLATE);
        assertThat(validator.validate(TestRequests.uri("a", "file:///a.png").setTask(dev.loupe.schemas.Task.VQA)
                .setPrompt("Question: what? Answer:").build()).prompt).isEqualTo("Question: what? Answer:");
    }

    @Test
    void uriMessagesAreRedacted() {
        refused(TestRequests.uri("a", "images/a.png?token=secret"), "images/a.png?…");
        assertThatThrownBy(() -> validator.validate(TestRequests.uri("a", "images/a.png?token=secret").build()))
                .message().doesNotContain("secret");
    }
}
