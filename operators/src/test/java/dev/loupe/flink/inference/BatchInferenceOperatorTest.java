package dev.loupe.flink.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.flink.testing.GatedAnnotatorFactory;
import dev.loupe.flink.testing.TestAnnotator;
import dev.loupe.flink.testing.TestAnnotatorFactory;
import dev.loupe.flink.testing.TestImages;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.Task;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.awt.Color;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchInferenceOperatorTest {

    private static OneInputStreamOperatorTestHarness<PreparedRequest, AnnotationResult> harness(
            AnnotatorFactory factory, int maxSize, long delayMillis) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new BatchInferenceOperator.Factory(factory,
                TypeInformation.of(PreparedRequest.class), maxSize, Duration.ofMillis(delayMillis)));
    }

    private static final byte[] RED = TestImages.png(4, 3, Color.RED);

    /** A request preprocessed as the pipeline does it: the tensor from its encoded image, which it keeps. */
    static PreparedRequest prepared(String id, String prompt) throws Exception {
        ValidatedRequest r = new ValidatedRequest(id, "file:///x", null, Task.CAPTION, prompt, List.of(),
                GenerationConfig.GREEDY, Map.of("m", id));
        return new PreparedRequest(r, RED, new TestAnnotatorFactory().createPreprocessor().preprocess(RED), 7, 1);
    }

    /** Waits for the model thread to hand back a finished batch, and emits it as the task thread would. */
    private static void awaitBatch(OneInputStreamOperatorTestHarness<?, ?> h) throws Exception {
        h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
    }

    /** Waits until the model has been given batches of these sizes (it receives them on its own thread). */
    private static void awaitModelBatches(Integer... sizes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (GatedAnnotatorFactory.batchSizes.size() < sizes.length && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(GatedAnnotatorFactory.batchSizes).containsExactly(sizes);
    }

    private static List<String> ids(OneInputStreamOperatorTestHarness<PreparedRequest, AnnotationResult> h) {
        return h.extractOutputValues().stream().map(AnnotationResult::getId).toList();
    }

    @BeforeEach
    void resetGate() {
        GatedAnnotatorFactory.reset();
    }

    @Test
    void mapsOutcomesToResultsWithTimingsAndEchoedMetadata() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 2, 1_000)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(prepared("a", "p1"), 0);
            h.setProcessingTime(11);
            h.processElement(prepared("b", "p2"), 0);   // full: starts at once
            awaitBatch(h);

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
            assertThat(results.get(1).getTimings().getQueueMillis()).isZero();
        }
    }

    @Test
    void aBatchsPixelArraysAreRecycledOnceItsOutcomesAreOut() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 2, 1_000)) {
            h.open();
            PreparedRequest a = prepared("a", "p1");
            PreparedRequest b = prepared("b", "p2");
            float[] pixelsOfA = a.pixels;
            float[] pixelsOfB = b.pixels;
            long idle = PixelBuffers.SHARED.idleBytes();
            h.processElement(a, 0);
            h.processElement(b, 0);   // full: starts at once
            awaitBatch(h);

            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getText)
                    .containsExactly("p1 -> rgb(255,0,0)", "p2 -> rgb(255,0,0)");
            assertThat(a.pixels).isNull();
            assertThat(b.pixels).isNull();
            assertThat(PixelBuffers.SHARED.idleBytes()).isEqualTo(idle + 4L * (pixelsOfA.length + pixelsOfB.length));
            assertThat(PixelBuffers.SHARED.take(pixelsOfB.length)).isSameAs(pixelsOfB);   // the last given back first
            assertThat(PixelBuffers.SHARED.take(pixelsOfA.length)).isSameAs(pixelsOfA);
        }
    }

    @Test
    void aPoisonInputFailsAloneAfterItsBatchIsRetriedElementByElement() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 4, 1_000)) {
            h.open();
            h.processElement(prepared("a", "ok"), 0);
            h.processElement(prepared("bad", TestAnnotator.POISON), 0);
            h.processElement(prepared("c", TestAnnotator.REJECT), 0);
            h.processElement(prepared("d", "ok"), 0);
            awaitBatch(h);

            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId, AnnotationResult::getBatchSize)
                    .containsExactly(tuple("a", 1), tuple("d", 1));
            assertThat(h.getSideOutput(Failures.TAG)).extracting(StreamRecord::getValue)
                    .extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode, AnnotationFailure::getStage)
                    .containsExactly(tuple("bad", "INFERENCE_FAILED", "inference"),
                            tuple("c", "PROMPT_TOO_LONG", "inference"));
        }
    }

    @Test
    void aPartialBatchStartsWhenItsDelayIsOverAndTheModelIsIdle() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 8, 50)) {
            h.open();
            h.setProcessingTime(100);
            h.processElement(prepared("a", "p"), 0);
            h.setProcessingTime(130);
            h.processElement(prepared("b", "p"), 0);
            h.setProcessingTime(149);
            assertThat(h.getTaskMailbox().hasMail()).isFalse();
            h.setProcessingTime(150);
            awaitBatch(h);
            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId, r -> r.getTimings().getQueueMillis())
                    .containsExactly(tuple("a", 50L), tuple("b", 20L));
        }
    }

    @Test
    void underInputPausedAnIdleModelWaitsForAFullBatchWhileRequestsKeepArriving() throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new BatchInferenceOperator.Factory(new TestAnnotatorFactory(),
                TypeInformation.of(PreparedRequest.class), 3, Duration.ofMillis(50),
                dev.loupe.flink.batch.Scheduling.STATIC, dev.loupe.flink.batch.DynamicBatcher.Fill.INPUT_PAUSED))) {
            h.open();
            h.setProcessingTime(100);
            h.processElement(prepared("a", "p"), 0);
            h.setProcessingTime(140);
            h.processElement(prepared("b", "p"), 0);
            h.setProcessingTime(180);   // a waited 80 ms: the timer fires, but b came 40 ms ago, so it waits on
            assertThat(h.getTaskMailbox().hasMail()).isFalse();
            h.processElement(prepared("c", "p"), 0);   // full: a, b and c run together
            awaitBatch(h);
            assertThat(ids(h)).containsExactly("a", "b", "c");

            h.setProcessingTime(300);
            h.processElement(prepared("d", "p"), 0);
            h.setProcessingTime(349);
            assertThat(h.getTaskMailbox().hasMail()).isFalse();
            h.setProcessingTime(350);   // nothing more for 50 ms: the input paused, d runs alone
            awaitBatch(h);
            assertThat(ids(h)).containsExactly("a", "b", "c", "d");
        }
    }

    @Test
    void whileTheModelIsBusyTheNextBatchFillsUpAndTheInputWaits() throws Exception {
        try (var h = harness(new GatedAnnotatorFactory(), 3, 10)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement(prepared("a", "p"), 0);
            h.setProcessingTime(10);   // a's delay is over and the model idle: a runs alone
            awaitModelBatches(1);

            h.processElement(prepared("b", "p"), 0);
            h.setProcessingTime(500);   // b's delay is long over, but the model is busy: b waits for company
            h.processElement(prepared("c", "p"), 0);
            assertThat(GatedAnnotatorFactory.batchSizes).containsExactly(1);
            assertThat(ids(h)).isEmpty();

            // d fills the buffer: processElement returns only once the model has finished a and taken b, c, d
            GatedAnnotatorFactory.gate.release();
            h.processElement(prepared("d", "p"), 0);
            assertThat(ids(h)).containsExactly("a");
            awaitModelBatches(1, 3);

            GatedAnnotatorFactory.gate.release();
            awaitBatch(h);
            assertThat(ids(h)).containsExactly("a", "b", "c", "d");
        }
    }

    @Test
    void theRunningBatchAndTheBufferSurviveARestoreExactlyOnce() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(new GatedAnnotatorFactory(), 2, 50)) {
            h.open();
            h.setProcessingTime(10);
            h.processElement(prepared("a", "p"), 0);
            h.processElement(prepared("b", "p"), 0);   // full: running (the gate holds it)
            h.setProcessingTime(12);
            h.processElement(prepared("c", "p"), 0);   // buffered
            snapshot = h.snapshot(1L, 20);
            assertThat(ids(h)).isEmpty();
            GatedAnnotatorFactory.gate.release(10);   // the failed attempt's batch ends; its results are not kept
        }
        GatedAnnotatorFactory.reset();
        GatedAnnotatorFactory.gate.release(10);
        try (var restored = harness(new GatedAnnotatorFactory(), 2, 50)) {
            restored.setProcessingTime(30);
            restored.initializeState(snapshot);
            restored.open();   // a, b: a full batch again, started at once
            awaitBatch(restored);
            assertThat(ids(restored)).containsExactly("a", "b");
            assertThat(restored.extractOutputValues().get(0).getTimings().getQueueMillis()).isEqualTo(20);
            restored.setProcessingTime(62);   // 50 ms after c arrived, before the restart
            awaitBatch(restored);
            assertThat(restored.extractOutputValues()).extracting(AnnotationResult::getId,
                    r -> r.getTimings().getQueueMillis())
                    .containsExactly(tuple("a", 20L), tuple("b", 20L), tuple("c", 50L));
            restored.endInput();
            assertThat(ids(restored)).hasSize(3);
            assertThat(GatedAnnotatorFactory.batchSizes).containsExactly(2, 1);
        }
    }

    @Test
    void aCheckpointKeepsTheEncodedImagesNotTheTensorsAndARestorePreprocessesThemAgain() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(new GatedAnnotatorFactory(), 4, 60_000)) {
            h.open();
            for (String id : List.of("a", "b")) {
                PreparedRequest big = prepared(id, "p");
                big.pixels = new float[3 * 224 * 224];   // as a real model's tensor: 602 KB each
                big.height = 224;
                big.width = 224;
                h.processElement(big, 0);
            }
            PreparedRequest corrupt = prepared("c", "p");
            corrupt.encoded = new byte[] {1, 2, 3};
            h.processElement(corrupt, 0);
            snapshot = h.snapshot(1L, 0);
            assertThat(snapshot.getStateSize()).isLessThan(16 * 1024);
            GatedAnnotatorFactory.gate.release(10);
        }
        GatedAnnotatorFactory.reset();
        GatedAnnotatorFactory.gate.release(10);
        try (var restored = harness(new GatedAnnotatorFactory(), 4, 60_000)) {
            restored.initializeState(snapshot);
            restored.open();
            restored.endInput();
            assertThat(restored.extractOutputValues()).extracting(AnnotationResult::getId, AnnotationResult::getText)
                    .containsExactly(tuple("a", "p -> rgb(255,0,0)"), tuple("b", "p -> rgb(255,0,0)"));
            assertThat(restored.getSideOutput(Failures.TAG)).extracting(StreamRecord::getValue)
                    .extracting(AnnotationFailure::getId, AnnotationFailure::getStage)
                    .containsExactly(tuple("c", "preprocess"));
        }
    }

    @Test
    void endOfInputRunsWhatIsBufferedAndWaitsForIt() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 2, 60_000)) {
            h.open();
            for (String id : List.of("a", "b", "c")) {
                h.processElement(prepared(id, "p"), 0);
            }
            h.endInput();
            assertThat(ids(h)).containsExactly("a", "b", "c");
            assertThat(h.getTaskMailbox().hasMail()).isFalse();
        }
    }

    @Test
    void aModelErrorThatIsNotAnOutcomeFailsTheTask() throws Exception {
        AnnotatorFactory crashing = new AnnotatorFactory() {
            @Override
            public ImagePreprocessor createPreprocessor() {
                return new TestAnnotatorFactory().createPreprocessor();
            }

            @Override
            public BatchAnnotator createAnnotator() {
                return new BatchAnnotator() {
                    @Override
                    public List<AnnotationOutcome> annotate(List<AnnotationInput> batch) {
                        throw new OutOfMemoryError("native arena exhausted");
                    }

                    @Override
                    public String modelId() {
                        return "crashing";
                    }

                    @Override
                    public String modelVersion() {
                        return "1";
                    }

                    @Override
                    public void close() {}
                };
            }
        };
        try (var h = harness(crashing, 1, 0)) {
            h.open();
            h.processElement(prepared("a", "p"), 0);
            assertThatThrownBy(() -> awaitBatch(h)).hasMessageContaining("inference failed on a batch of 1")
                    .hasRootCauseInstanceOf(OutOfMemoryError.class);
            assertThat(ids(h)).isEmpty();
        }
    }

    @Test
    void rejectsInvalidSettings() {
        assertThatThrownBy(() -> harness(new TestAnnotatorFactory(), 0, 5)).hasMessageContaining("batch.max-size");
        assertThatThrownBy(() -> harness(new TestAnnotatorFactory(), 1, -5)).hasMessageContaining("batch.max-delay");
    }
}
