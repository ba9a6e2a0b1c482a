package dev.loupe.flink.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.loupe.flink.batch.Batch;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.flink.testing.TestAnnotator;
import dev.loupe.flink.testing.TestAnnotatorFactory;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Task;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class InferenceOperatorTest {

    private static PreparedRequest prepared(String id, String prompt) {
        ValidatedRequest r = new ValidatedRequest(id, "file:///x", null, Task.CAPTION, prompt, List.of(),
                GenerationConfig.GREEDY, Map.of("m", id));
        return new PreparedRequest(r, new ImageTensor(new float[] {1, 0, 0}, 3, 1, 1), 7);
    }

    @Test
    void mapsOutcomesToResultsWithTimingsAndEchoedMetadata() throws Exception {
        try (OneInputStreamOperatorTestHarness<Batch<PreparedRequest>, AnnotationResult> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new InferenceOperator(new TestAnnotatorFactory()))) {
            h.processElement(new Batch<>(List.of(prepared("a", "p1"), prepared("b", "p2")), new long[] {11, 4}), 0);

            List<AnnotationResult> results = h.extractOutputValues();
            assertThat(results).extracting(AnnotationResult::getId, AnnotationResult::getText, AnnotationResult::getBatchSize)
                    .containsExactly(tuple("a", "p1 -> rgb(255,0,0)", 2), tuple("b", "p2 -> rgb(255,0,0)", 2));
            AnnotationResult a = results.get(0);
            assertThat(a.getTimings().getQueueMillis()).isEqualTo(11);
            assertThat(a.getTimings().getFetchMillis()).isEqualTo(7);
            assertThat(a.getTask()).isEqualTo("caption");
            assertThat(a.getPrompt()).isEqualTo("p1");
            assertThat(a.getTokenIds()).containsExactly("p1 -> rgb(255,0,0)".length(), 2);
            assertThat(a.getScore()).isEqualTo(-1.0);
            assertThat(a.getMetadata()).containsEntry("m", "a");
            assertThat(a.getModelId()).isEqualTo(TestAnnotator.MODEL_ID);
            assertThat(results.get(1).getTimings().getQueueMillis()).isEqualTo(4);
        }
    }

    @Test
    void aPoisonInputFailsAloneAfterItsBatchIsRetriedElementByElement() throws Exception {
        try (OneInputStreamOperatorTestHarness<Batch<PreparedRequest>, AnnotationResult> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new InferenceOperator(new TestAnnotatorFactory()))) {
            h.processElement(new Batch<>(List.of(prepared("a", "ok"), prepared("bad", TestAnnotator.POISON),
                    prepared("c", TestAnnotator.REJECT), prepared("d", "ok")), new long[] {1, 2, 3, 4}), 0);

            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId, AnnotationResult::getBatchSize)
                    .containsExactly(tuple("a", 1), tuple("d", 1));
            assertThat(h.getSideOutput(Failures.TAG)).extracting(StreamRecord::getValue)
                    .extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode, AnnotationFailure::getStage)
                    .containsExactly(tuple("bad", "INFERENCE_FAILED", "inference"),
                            tuple("c", "PROMPT_TOO_LONG", "inference"));
        }
    }
}
