package dev.loupe.flink.request;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.failure.Failures;
import dev.loupe.flink.testing.TestRequests;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.registry.RegistryConfig;
import dev.loupe.schemas.registry.RegistryFormat;
import dev.loupe.schemas.registry.SchemaRegistryException;
import dev.loupe.schemas.registry.WireFormat;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class RequestDecoderTest {
    /** A model whose answers are short by default and whose captions are longer and beam-searched. */
    private static final TaskDefaults MODEL_DEFAULTS = TaskDefaults.of(Map.of(
            Task.CAPTION, GenerationConfig.greedy(30).withBeams(2, 1),
            Task.VQA, GenerationConfig.greedy(10)));

    @Test
    void decodesValidatesAndRoutesFailures() throws Exception {
        try (OneInputStreamOperatorTestHarness<byte[], ValidatedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new RequestDecoder(PipelineOptions.defaults()
                        .requestValidator(MODEL_DEFAULTS)))) {
            h.processElement(TestRequests.encode(TestRequests.uri("vqa", "file:///a.png")
                    .setTask(dev.loupe.schemas.Task.VQA).setQuestion("why?").setOcrTokens(List.of("EXIT"))
                    .setGeneration(GenerationOverrides.newBuilder().setNumBeams(3).setNumReturnSequences(2)
                            .setMaxNewTokens(9).build())), 0);
            h.processElement(TestRequests.encode(TestRequests.inline("inline", new byte[] {1, 2})), 0);
            h.processElement(new byte[] {(byte) 0xff, 1}, 0);
            h.processElement(TestRequests.encode(TestRequests.uri("both", "file:///a.png")
                    .setImage(ImageSource.newBuilder().setUri("file:///a.png").setBytes(ByteBuffer.wrap(new byte[] {1})).build())), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("neither", "x")
                    .setImage(ImageSource.newBuilder().build())), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("relative", "images/a.png")), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("rank", "file:///a.png")
                    .setTask(dev.loupe.schemas.Task.RANK)), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("candidates-for-caption", "file:///a.png")
                    .setCandidates(List.of("x"))), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("min-over-max", "file:///a.png")
                    .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(2).setMinNewTokens(5).build())), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("too-many-tokens", "file:///a.png")
                    .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(100_000).build())), 0);

            List<ValidatedRequest> ok = h.extractOutputValues();
            assertThat(ok).extracting(r -> r.id).containsExactly("vqa", "inline");
            ValidatedRequest vqa = ok.get(0);
            assertThat(vqa.task).isEqualTo(Task.VQA);
            assertThat(vqa.prompt).isEqualTo(Prompts.resolve(null, "why?", List.of("EXIT")));
            assertThat(vqa.generation.numBeams()).isEqualTo(3);
            assertThat(vqa.generation.numReturnSequences()).isEqualTo(2);
            assertThat(vqa.generation.maxNewTokens()).isEqualTo(9);
            assertThat(vqa.imageUri).isEqualTo("file:///a.png");
            assertThat(ok.get(1).imageBytes).containsExactly(1, 2);
            assertThat(ok.get(1).prompt).isEqualTo(Prompts.CAPTION_TEMPLATE);
            assertThat(ok.get(1).generation).as("the model's caption default").isEqualTo(MODEL_DEFAULTS.forTask(Task.CAPTION));

            List<AnnotationFailure> failures = h.getSideOutput(Failures.TAG).stream().map(StreamRecord::getValue).toList();
            assertThat(failures).extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode)
                    .containsExactly(
                            tuple(null, "UNDECODABLE_RECORD"),
                            tuple("both", "INVALID_REQUEST"),
                            tuple("neither", "INVALID_REQUEST"),
                            tuple("relative", "INVALID_REQUEST"),
                            tuple("rank", "INVALID_REQUEST"),
                            tuple("candidates-for-caption", "INVALID_REQUEST"),
                            tuple("min-over-max", "INVALID_REQUEST"),
                            tuple("too-many-tokens", "UNSUPPORTED_OPTION"));
            assertThat(failures).allSatisfy(f -> assertThat(f.getStage()).isEqualTo("decode"));
            assertThat(failures.get(0).getRawInput()).isEqualTo(ByteBuffer.wrap(new byte[] {(byte) 0xff, 1}));
            assertThat(failures.get(1).getMetadata()).containsEntry("source", "test");
        }
    }

    @Test
    void requestOverridesStartFromTheModelsDefaultsForTheTask() throws Exception {
        try (OneInputStreamOperatorTestHarness<byte[], ValidatedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new RequestDecoder(PipelineOptions.defaults()
                        .requestValidator(MODEL_DEFAULTS)))) {
            h.processElement(TestRequests.encode(TestRequests.uri("plain-vqa", "file:///a.png")
                    .setTask(dev.loupe.schemas.Task.VQA).setQuestion("why?")), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("caption-override", "file:///a.png")
                    .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(5).build())), 0);
            h.processElement(TestRequests.encode(TestRequests.uri("sampled", "file:///a.png")
                    .setGeneration(GenerationOverrides.newBuilder().setTemperature(0.7f).setSeed(42L)
                            .setEarlyStopping("never").build())), 0);

            List<ValidatedRequest> ok = h.extractOutputValues();
            assertThat(ok.get(0).generation.maxNewTokens()).isEqualTo(10);
            assertThat(ok.get(1).generation.maxNewTokens()).isEqualTo(5);
            assertThat(ok.get(1).generation.numBeams()).as("kept from the caption default").isEqualTo(2);
            GenerationConfig sampled = ok.get(2).generation;
            assertThat(sampled.doSample()).as("a temperature turns sampling on").isTrue();
            assertThat(sampled.topK()).as("Hugging Face's default top_k").isEqualTo(50);
            assertThat(sampled.seed()).isEqualTo(42L);
            assertThat(sampled.earlyStopping()).isEqualTo(GenerationConfig.EarlyStopping.NEVER);
        }
    }

    @Test
    void anUnreachableRegistryFailsTheTaskWhileAnUnframedValueIsADeadLetter() throws Exception {
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        var format = new RegistryFormat(RegistryConfig.of("http://127.0.0.1:" + closedPort));
        try (OneInputStreamOperatorTestHarness<byte[], ValidatedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(new RequestDecoder(PipelineOptions.defaults()
                        .requestValidator(MODEL_DEFAULTS), format))) {
            byte[] plain = TestRequests.encode(TestRequests.uri("plain", "file:///a.png"));
            h.processElement(plain, 0);
            assertThatThrownBy(() -> h.processElement(WireFormat.frame(7, plain), 0))
                    .isInstanceOf(SchemaRegistryException.class);

            assertThat(h.extractOutputValues()).isEmpty();
            List<AnnotationFailure> failures = h.getSideOutput(Failures.TAG).stream().map(StreamRecord::getValue).toList();
            assertThat(failures).hasSize(1);
            assertThat(failures.get(0).getErrorCode()).isEqualTo("UNDECODABLE_RECORD");
            assertThat(failures.get(0).getMessage()).contains("magic byte");
            assertThat(failures.get(0).getRawInput()).isEqualTo(ByteBuffer.wrap(plain));
        }
    }
}
