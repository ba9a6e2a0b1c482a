package dev.loupe.flink.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.fetch.FetchedImage;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.flink.testing.BlipTestAnnotatorFactory;
import dev.loupe.flink.testing.TestImages;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import dev.loupe.schemas.AnnotationFailure;
import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** The preprocess stage with the real BlipImageProcessor of the fixture checkpoint. */
class PreprocessFunctionTest {

    private static FetchedImage fetched(String id, byte[] bytes) {
        return new FetchedImage(new ValidatedRequest(id, "file:///x/" + id, null, Task.CAPTION, "p", List.of(),
                GenerationConfig.GREEDY, Map.of()), bytes, 3);
    }

    @Test
    void imagesBecomeTensorsAndBadImagesBecomeFailuresWithTheDecodersCode() throws Exception {
        BlipTestAnnotatorFactory factory =
                new BlipTestAnnotatorFactory(BlipTestAnnotatorFactory.fixtureCheckpoint(), 1 << 20, 10_000);
        byte[] jpeg = TestImages.jpeg(40, 30, Color.ORANGE);
        byte[] fixturePng = Files.readAllBytes(BlipTestAnnotatorFactory.fixtureCheckpoint()
                .resolve("../../images/img_40x30.png").normalize());
        try (OneInputStreamOperatorTestHarness<FetchedImage, PreparedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new PreprocessFunction(factory))) {
            h.processElement(fetched("jpeg", jpeg), 0);
            h.processElement(fetched("png", fixturePng), 0);
            h.processElement(fetched("truncated", Arrays.copyOf(jpeg, jpeg.length / 2)), 0);
            h.processElement(fetched("text", "hello, not a jpeg".getBytes(StandardCharsets.UTF_8)), 0);
            h.processElement(fetched("huge", TestImages.png(200, 100, Color.GRAY)), 0);

            List<PreparedRequest> prepared = h.extractOutputValues();
            assertThat(prepared).extracting(p -> p.request.id).containsExactly("jpeg", "png");
            assertThat(prepared.get(0).channels).isEqualTo(3);
            assertThat(prepared.get(0).height).isEqualTo(prepared.get(1).height);
            assertThat(prepared.get(0).fetchMillis).isEqualTo(3);

            assertThat(h.getSideOutput(Failures.TAG)).extracting(StreamRecord::getValue)
                    .extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode, AnnotationFailure::getStage)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("truncated", "IMAGE_CORRUPT", "preprocess"),
                            org.assertj.core.groups.Tuple.tuple("text", "IMAGE_UNSUPPORTED_FORMAT", "preprocess"),
                            org.assertj.core.groups.Tuple.tuple("huge", "IMAGE_TOO_MANY_PIXELS", "preprocess"));
        }
    }

    @Test
    void aFailureDownstreamIsNotTurnedIntoThisImagesFailureRecord() throws Exception {
        BlipTestAnnotatorFactory factory =
                new BlipTestAnnotatorFactory(BlipTestAnnotatorFactory.fixtureCheckpoint(), 1 << 20, 10_000);
        PreprocessFunction fn = new PreprocessFunction(factory);
        fn.open(null);
        List<Object> sideOutputs = new java.util.ArrayList<>();
        PreprocessFunction.Context ctx = fn.new Context() {
            @Override
            public Long timestamp() {
                return null;
            }

            @Override
            public org.apache.flink.streaming.api.TimerService timerService() {
                throw new UnsupportedOperationException();
            }

            @Override
            public <X> void output(org.apache.flink.util.OutputTag<X> tag, X value) {
                sideOutputs.add(value);
            }
        };
        // as a chained operator that fails the task (e.g. the model failing for good) fails inside collect
        org.apache.flink.util.Collector<PreparedRequest> failing = new org.apache.flink.util.Collector<>() {
            @Override
            public void collect(PreparedRequest record) {
                throw new IllegalStateException("downstream failed");
            }

            @Override
            public void close() {}
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> fn.processElement(
                fetched("ok", TestImages.jpeg(40, 30, Color.ORANGE)), ctx, failing))
                .hasMessage("downstream failed");
        assertThat(sideOutputs).isEmpty();
    }
}
