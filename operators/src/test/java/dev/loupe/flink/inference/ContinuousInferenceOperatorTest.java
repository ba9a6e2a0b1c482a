package dev.loupe.flink.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.loupe.flink.batch.Scheduling;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.flink.testing.BlipTestAnnotatorFactory;
import dev.loupe.flink.testing.GatedAnnotatorFactory;
import dev.loupe.flink.testing.TestAnnotator;
import dev.loupe.flink.testing.TestAnnotatorFactory;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The inference operator under continuous scheduling, on the real fixture model (InstructBLIP, tiny random weights)
 * where generation matters and on the test annotators where the operator's bookkeeping does.
 */
class ContinuousInferenceOperatorTest {

    private static Path cache;
    private static AnnotatorFactory model;
    private static byte[] image;

    @BeforeAll
    static void openModel() throws Exception {
        cache = Files.createTempDirectory("loupe-continuous-op");
        model = Models.open(BlipTestAnnotatorFactory.fixtureCheckpoint(),
                new RuntimeOptions(RuntimeOptions.Device.CPU, 1, cache.resolve("cache").toString()));
        image = Files.readAllBytes(BlipTestAnnotatorFactory.fixtureCheckpoint()
                .resolve("../../images/img_64x64.png").normalize());
    }

    @AfterAll
    static void deleteCache() throws Exception {
        dev.loupe.model.files.FileTrees.deleteRecursively(cache);
    }

    @BeforeEach
    void resetGate() {
        GatedAnnotatorFactory.reset();
    }

    private static OneInputStreamOperatorTestHarness<PreparedRequest, AnnotationResult> harness(
            AnnotatorFactory factory, int maxSize, Scheduling scheduling) throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new BatchInferenceOperator.Factory(factory,
                TypeInformation.of(PreparedRequest.class), maxSize, Duration.ofSeconds(30), scheduling));
    }

    /** A caption request of the fixture image generating exactly {@code tokens} tokens. */
    private static PreparedRequest generating(String id, int tokens, GenerationConfig base) throws Exception {
        GenerationConfig g = base.toBuilder().maxNewTokens(tokens).minNewTokens(tokens).build();
        ValidatedRequest r = new ValidatedRequest(id, "file:///x", null, Task.CAPTION, "a photo of", List.of(), g,
                Map.of());
        ImagePreprocessor preprocessor = model.createPreprocessor();
        return new PreparedRequest(r, image, preprocessor.preprocess(image), 0, 0);
    }

    private static PreparedRequest test(String id, String prompt) throws Exception {
        return BatchInferenceOperatorTest.prepared(id, prompt);
    }

    /** Requests wanting these many tokens, in this order, run through the operator until end of input. */
    private static List<AnnotationResult> run(Scheduling scheduling, int maxSize, Map<String, Integer> tokens,
            GenerationConfig base) throws Exception {
        try (var h = harness(model, maxSize, scheduling)) {
            h.open();
            for (var e : tokens.entrySet()) {
                h.processElement(generating(e.getKey(), e.getValue(), base), 0);
            }
            h.endInput();
            assertThat(h.getSideOutput(Failures.TAG)).as("failures").isNullOrEmpty();
            return h.extractOutputValues();
        }
    }

    private static Map<String, List<Integer>> tokensById(List<AnnotationResult> results) {
        return results.stream().collect(Collectors.toMap(AnnotationResult::getId, AnnotationResult::getTokenIds));
    }

    @Test
    void continuousResultsEqualStaticOnesPerIdAndShortRowsAreEmittedBeforeLongOnes() throws Exception {
        Map<String, Integer> tokens = new LinkedHashMap<>();
        tokens.put("long", 14);
        tokens.put("short", 2);
        tokens.put("mid", 6);
        tokens.put("tiny", 1);
        tokens.put("late", 9);
        List<AnnotationResult> continuous = run(Scheduling.CONTINUOUS, 2, tokens, GenerationConfig.GREEDY);
        List<AnnotationResult> fixed = run(Scheduling.STATIC, 2, tokens, GenerationConfig.GREEDY);

        assertThat(tokensById(continuous)).isEqualTo(tokensById(fixed));
        Map<String, AnnotationResult> byId = continuous.stream()
                .collect(Collectors.toMap(AnnotationResult::getId, Function.identity()));
        tokens.forEach((id, n) -> assertThat(byId.get(id).getTokenIds()).as(id).hasSize(n));
        List<String> order = continuous.stream().map(AnnotationResult::getId).toList();
        // long and short are admitted together; short leaves after 2 steps, and the rows joining in its place
        // (mid, tiny) finish before long too
        assertThat(order.indexOf("short")).isLessThan(order.indexOf("long"));
        assertThat(order.indexOf("tiny")).isLessThan(order.indexOf("long"));
        assertThat(order.get(order.size() - 1)).isIn("long", "late");
        assertThat(fixed.stream().map(AnnotationResult::getId).toList().subList(0, 2))
                .as("static batches emit in batch order").containsExactly("long", "short");
    }

    @Test
    void aSampledRequestMidGenerationAtACheckpointGetsTheSameResultAfterTheRestore() throws Exception {
        GenerationConfig sampling = GenerationConfig.GREEDY.toBuilder().doSample(true).topK(20).temperature(1.5)
                .seed(11).build();
        Map<String, Integer> tokens = Map.of("s1", 12, "s2", 5, "s3", 8);
        Map<String, List<Integer>> uninterrupted = tokensById(run(Scheduling.CONTINUOUS, 2, tokens, sampling));

        OperatorSubtaskState snapshot;
        List<String> before;
        try (var h = harness(model, 2, Scheduling.CONTINUOUS)) {
            h.open();
            for (String id : List.of("s1", "s2", "s3")) {
                h.processElement(generating(id, tokens.get(id), sampling), 0);
            }
            snapshot = h.snapshot(1L, 1L);   // s1, s2 generating or about to, s3 waiting: all in the state
            before = h.extractOutputValues().stream().map(AnnotationResult::getId).toList();
        }
        assertThat(before).as("emitted before the checkpoint").isEmpty();
        try (var restored = harness(model, 2, Scheduling.CONTINUOUS)) {
            restored.initializeState(snapshot);
            restored.open();
            restored.endInput();
            assertThat(tokensById(restored.extractOutputValues())).isEqualTo(uninterrupted);
        }
    }

    @Test
    void aPoisonRequestFailsAloneWithItsOwnFailureRecord() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 4, Scheduling.CONTINUOUS)) {
            h.open();
            h.processElement(test("a", "ok"), 0);
            h.processElement(test("bad", TestAnnotator.POISON), 0);
            h.processElement(test("c", TestAnnotator.REJECT), 0);
            h.processElement(test("d", "ok"), 0);
            h.endInput();

            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId).containsExactlyInAnyOrder("a", "d");
            assertThat(h.getSideOutput(Failures.TAG)).extracting(StreamRecord::getValue)
                    .extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode, AnnotationFailure::getStage)
                    .containsExactlyInAnyOrder(tuple("bad", "INFERENCE_FAILED", "inference"),
                            tuple("c", "PROMPT_TOO_LONG", "inference"));
        }
    }

    @Test
    void eachEmittedRequestsPixelArrayIsRecycledResultOrFailure() throws Exception {
        try (var h = harness(new TestAnnotatorFactory(), 4, Scheduling.CONTINUOUS)) {
            h.open();
            List<PreparedRequest> requests = List.of(test("a", "ok"), test("c", TestAnnotator.REJECT), test("d", "ok"));
            List<float[]> arrays = requests.stream().map(r -> r.pixels).toList();
            long idle = PixelBuffers.SHARED.idleBytes();
            for (PreparedRequest r : requests) {
                h.processElement(r, 0);
            }
            h.endInput();

            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId).containsExactlyInAnyOrder("a", "d");
            assertThat(h.getSideOutput(Failures.TAG)).hasSize(1);
            assertThat(requests).allSatisfy(r -> assertThat(r.pixels).isNull());
            assertThat(PixelBuffers.SHARED.idleBytes())
                    .isEqualTo(idle + 4L * arrays.stream().mapToLong(a -> a.length).sum());
            for (int i = 0; i < arrays.size(); i++) {   // each given back once: the pool holds it once
                assertThat(PixelBuffers.SHARED.take(arrays.get(0).length)).isIn(arrays.toArray());
            }
        }
    }

    @Test
    void itTakesNoInputWhileItHoldsTwiceTheActiveRows() throws Exception {
        try (var h = harness(new GatedAnnotatorFactory(), 2, Scheduling.CONTINUOUS)) {
            h.open();
            h.processElement(test("a", "p"), 0);
            h.processElement(test("b", "p"), 0);   // a whole group: the model takes it (and waits at the gate)
            awaitModelGroups(1);
            h.processElement(test("c", "p"), 0);   // held: 3 (two with the model, one waiting)
            assertThat(h.extractOutputValues()).isEmpty();

            // d makes four held: processElement returns only once a finished request was emitted (one mail each)
            GatedAnnotatorFactory.gate.release();
            h.processElement(test("d", "p"), 0);
            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId).containsExactly("a");

            GatedAnnotatorFactory.gate.release(10);
            h.endInput();
            assertThat(h.extractOutputValues()).extracting(AnnotationResult::getId)
                    .containsExactly("a", "b", "c", "d");
        }
    }

    @Test
    void requestsWithTheModelAndWaitingSurviveARestoreExactlyOnceAcrossSchedulings() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(new GatedAnnotatorFactory(), 2, Scheduling.CONTINUOUS)) {
            h.open();
            h.processElement(test("a", "p"), 0);
            h.processElement(test("b", "p"), 0);
            awaitModelGroups(1);   // a, b with the model (the gate holds it)
            h.processElement(test("c", "p"), 0);   // waiting
            snapshot = h.snapshot(1L, 20);
            assertThat(h.extractOutputValues()).isEmpty();
            GatedAnnotatorFactory.gate.release(10);   // the failed attempt's group ends; its results are not kept
        }
        GatedAnnotatorFactory.reset();
        GatedAnnotatorFactory.gate.release(10);
        // the state is the static operator's too: a job may switch scheduling across a restore
        for (Scheduling scheduling : Scheduling.values()) {
            try (var restored = harness(new GatedAnnotatorFactory(), 2, scheduling)) {
                restored.initializeState(snapshot);
                restored.open();
                restored.processElement(test("d", "p"), 0);
                restored.endInput();
                assertThat(restored.extractOutputValues()).extracting(AnnotationResult::getId).as("%s", scheduling)
                        .containsExactlyInAnyOrder("a", "b", "c", "d");
            }
            GatedAnnotatorFactory.gate.release(10);
        }
    }

    /** Waits until the model has been given {@code groups} groups (it takes them on its own thread). */
    private static void awaitModelGroups(int groups) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (GatedAnnotatorFactory.batchSizes.size() < groups && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(GatedAnnotatorFactory.batchSizes).hasSize(groups);
    }
}
