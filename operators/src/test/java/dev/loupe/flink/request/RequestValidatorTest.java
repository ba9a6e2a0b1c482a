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
import dev.loupe.schemas.ImageSource;
import java.nio.ByteBuffer;
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

    @Test
    void aDecodedRequestsWholeImageArrayIsTakenAsItIsAnyOtherImageIsCopied() throws Exception {
        byte[] image = {1, 2, 3, 4, 5};
        AnnotationRequest request = TestRequests.inline("a", image).build();
        assertThat(validator.validateDecoded(request).imageBytes).isSameAs(image);
        assertThat(validator.validate(request).imageBytes).isNotSameAs(image).containsExactly(image);

        // a buffer over part of its array (or past a position) is copied: the array holds more than the image
        AnnotationRequest part = TestRequests.inline("b", new byte[0]).build();
        part.setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(image, 1, 3)).build());
        assertThat(validator.validateDecoded(part).imageBytes).containsExactly(2, 3, 4);
        ByteBuffer sliced = ByteBuffer.wrap(image).slice(2, 3);
        part.setImage(ImageSource.newBuilder().setBytes(sliced).build());
        assertThat(validator.validateDecoded(part).imageBytes).containsExactly(3, 4, 5);
    }
}
