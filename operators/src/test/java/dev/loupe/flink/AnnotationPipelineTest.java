package dev.loupe.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.testing.TestAnnotator;
import dev.loupe.flink.testing.TestAnnotatorFactory;
import dev.loupe.flink.testing.TestImages;
import dev.loupe.flink.testing.TestRequests;
import dev.loupe.model.api.Prompts;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.Task;
import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class AnnotationPipelineTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final int GOOD = 12;

    @TempDir
    Path tmp;

    @Test
    void everyRequestEndsAsExactlyOneResultOrOneFailure() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("images"));
        Path outside = Files.createDirectories(tmp.resolve("private"));
        Files.write(outside.resolve("secret.png"), TestImages.png(2, 2, Color.RED));
        Files.write(root.resolve("empty.png"), new byte[0]);
        Files.write(root.resolve("text.jpg"), "just some text".getBytes(StandardCharsets.UTF_8));
        Files.createSymbolicLink(root.resolve("link.png"), outside.resolve("secret.png"));

        List<byte[]> values = new ArrayList<>();
        Map<String, String> expectedText = new HashMap<>();
        for (int i = 0; i < GOOD; i++) {
            Color color = new Color(10 * i, 255 - 10 * i, 7);
            Path image = root.resolve("good-" + i + ".png");
            Files.write(image, TestImages.png(3, 2, color));
            String id = "good-" + i;
            values.add(TestRequests.encode(TestRequests.uri(id, image.toUri().toString())));
            expectedText.put(id, TestAnnotator.expectedText(
                    new float[] {color.getRed() / 255f, color.getGreen() / 255f, color.getBlue() / 255f},
                    Prompts.CAPTION_TEMPLATE));
        }
        values.add(TestRequests.encode(TestRequests.inline("inline", TestImages.png(1, 1, Color.BLUE))
                .setTask(Task.VQA).setQuestion("what colour?")));
        expectedText.put("inline", TestAnnotator.expectedText(new float[] {0, 0, 1}, Prompts.question("what colour?")));
        values.add(TestRequests.encode(TestRequests.uri("rank", root.resolve("good-0.png").toUri().toString())
                .setTask(Task.RANK).setCandidates(List.of("a dog", "cat"))));
        expectedText.put("rank", "cat");

        Map<String, String> expectedCode = new HashMap<>();
        values.add("definitely not avro".getBytes(StandardCharsets.UTF_8));
        expectedCode.put(null, "UNDECODABLE_RECORD");
        add(values, expectedCode, "missing", root.resolve("missing.png").toUri().toString(), "IMAGE_NOT_FOUND");
        add(values, expectedCode, "empty", root.resolve("empty.png").toUri().toString(), "IMAGE_EMPTY");
        add(values, expectedCode, "outside", outside.resolve("secret.png").toUri().toString(), "PATH_NOT_ALLOWED");
        add(values, expectedCode, "dotdot", "file://" + root + "/../private/secret.png", "PATH_NOT_ALLOWED");
        add(values, expectedCode, "symlink", root.resolve("link.png").toUri().toString(), "PATH_NOT_ALLOWED");
        add(values, expectedCode, "text-as-jpg", root.resolve("text.jpg").toUri().toString(), "IMAGE_UNSUPPORTED_FORMAT");
        add(values, expectedCode, "scheme", "nosuchfs://bucket/a.png", "UNSUPPORTED_SCHEME");
        values.add(TestRequests.encode(TestRequests.uri("rank-no-candidates", root.resolve("good-1.png").toUri().toString())
                .setTask(Task.RANK)));
        expectedCode.put("rank-no-candidates", "INVALID_REQUEST");
        values.add(TestRequests.encode(TestRequests.uri("beams", root.resolve("good-1.png").toUri().toString())
                .setGeneration(GenerationOverrides.newBuilder().setNumBeams(99).build())));
        expectedCode.put("beams", "UNSUPPORTED_OPTION");
        values.add(TestRequests.encode(TestRequests.uri("poison", root.resolve("good-2.png").toUri().toString())
                .setPrompt("please " + TestAnnotator.POISON)));
        expectedCode.put("poison", "INFERENCE_FAILED");
        values.add(TestRequests.encode(TestRequests.uri("rejected", root.resolve("good-3.png").toUri().toString())
                .setPrompt(TestAnnotator.REJECT)));
        expectedCode.put("rejected", "PROMPT_TOO_LONG");

        // no Kryo: every type between the operators (and in checkpoints) has a Flink or Avro serializer
        org.apache.flink.configuration.Configuration conf = new org.apache.flink.configuration.Configuration();
        conf.set(org.apache.flink.configuration.PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        DataStream<byte[]> source = env.fromData(values).rebalance();
        PipelineOptions options = PipelineOptions.builder()
                .fileRoots(List.of(root))
                .fetchConcurrency(4).fetchTimeout(Duration.ofSeconds(30)).fetchMaxBytes(1 << 20)
                .batchMaxSize(3).batchMaxDelay(Duration.ofMillis(20))
                .build();
        AnnotationPipeline.Outputs outputs = AnnotationPipeline.fromAvro(source, new TestAnnotatorFactory(), options);

        List<AnnotationResult> results = new ArrayList<>();
        List<AnnotationFailure> failures = new ArrayList<>();
        run(env, outputs, results, failures);

        Map<String, AnnotationResult> byId = results.stream()
                .collect(Collectors.toMap(AnnotationResult::getId, Function.identity()));   // throws on a duplicate id
        assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(expectedText.keySet());
        for (AnnotationResult result : results) {
            assertThat(result.getText()).as(result.getId()).isEqualTo(expectedText.get(result.getId()));
            assertThat(result.getModelId()).isEqualTo(TestAnnotator.MODEL_ID);
            assertThat(result.getModelVersion()).isEqualTo(TestAnnotator.MODEL_VERSION);
            assertThat(result.getBatchSize()).isBetween(1, 3);
            assertThat(result.getMetadata()).containsEntry("source", "test");
            assertThat(result.getTimings().getQueueMillis()).isNotNegative();
        }
        assertThat(byId.get("rank").getCandidates()).extracting(c -> c.getText() + "=" + c.getScore())
                .containsExactly("a dog=-5.0", "cat=-3.0");
        assertThat(byId.get("inline").getTask()).isEqualTo("vqa");
        assertThat(byId.get("good-0").getPrompt()).isEqualTo(Prompts.CAPTION_TEMPLATE);

        Map<String, String> codes = new HashMap<>();
        for (AnnotationFailure failure : failures) {
            assertThat(codes.put(failure.getId(), failure.getErrorCode())).as("one failure for " + failure.getId()).isNull();
        }
        assertThat(codes).isEqualTo(expectedCode);
        AnnotationFailure undecodable = failures.stream().filter(x -> x.getId() == null).findFirst().orElseThrow();
        assertThat(undecodable.getStage()).isEqualTo("decode");
        assertThat(StandardCharsets.UTF_8.decode(undecodable.getRawInput()).toString()).isEqualTo("definitely not avro");
        assertThat(failures).filteredOn(x -> "missing".equals(x.getId())).extracting(AnnotationFailure::getStage)
                .containsExactly("fetch");
        assertThat(failures).filteredOn(x -> "text-as-jpg".equals(x.getId())).extracting(AnnotationFailure::getStage)
                .containsExactly("preprocess");
        assertThat(failures).filteredOn(x -> "poison".equals(x.getId())).extracting(AnnotationFailure::getStage)
                .containsExactly("inference");
    }

    /** Typed requests go through the same stages without Avro bytes; a refused one fails once, at stage decode. */
    @Test
    void typedRequestsAreValidatedOnceWithoutAnAvroRoundTrip() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("typed"));
        List<AnnotationRequest> requests = new ArrayList<>();
        Map<String, String> expectedText = new HashMap<>();
        for (int i = 0; i < 4; i++) {
            Color color = new Color(40 * i, 20, 255 - 40 * i);
            Path image = root.resolve("t-" + i + ".png");
            Files.write(image, TestImages.png(2, 2, color));
            requests.add(TestRequests.uri("t-" + i, image.toUri().toString()).build());
            expectedText.put("t-" + i, TestAnnotator.expectedText(
                    new float[] {color.getRed() / 255f, color.getGreen() / 255f, color.getBlue() / 255f},
                    Prompts.CAPTION_TEMPLATE));
        }
        requests.add(TestRequests.inline("inline", TestImages.png(1, 1, Color.GREEN)).build());
        expectedText.put("inline", TestAnnotator.expectedText(new float[] {0, 1, 0}, Prompts.CAPTION_TEMPLATE));
        requests.add(TestRequests.uri("rank-no-candidates", root.resolve("t-0.png").toUri().toString())
                .setTask(Task.RANK).build());
        requests.add(TestRequests.uri("beams", root.resolve("t-1.png").toUri().toString())
                .setGeneration(GenerationOverrides.newBuilder().setNumBeams(99).build()).build());
        requests.add(TestRequests.uri("min-over-max", root.resolve("t-1.png").toUri().toString())
                .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(3).setMinNewTokens(4).build()).build());

        org.apache.flink.configuration.Configuration conf = new org.apache.flink.configuration.Configuration();
        conf.set(org.apache.flink.configuration.PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        DataStream<AnnotationRequest> source = env.fromData(AnnotationPipeline.REQUEST_TYPE, requests.toArray(
                new AnnotationRequest[0])).rebalance();
        PipelineOptions options = PipelineOptions.builder().fileRoots(List.of(root)).batchMaxSize(2).build();
        AnnotationPipeline.Outputs outputs = AnnotationPipeline.fromRequests(source, new TestAnnotatorFactory(), options);

        List<AnnotationResult> results = new ArrayList<>();
        List<AnnotationFailure> failures = new ArrayList<>();
        run(env, outputs, results, failures);
        assertThat(results.stream().collect(Collectors.toMap(AnnotationResult::getId, AnnotationResult::getText)))
                .isEqualTo(expectedText);
        assertThat(failures).extracting(AnnotationFailure::getId, AnnotationFailure::getErrorCode,
                        AnnotationFailure::getStage)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("rank-no-candidates", "INVALID_REQUEST", "decode"),
                        org.assertj.core.groups.Tuple.tuple("beams", "UNSUPPORTED_OPTION", "decode"),
                        org.assertj.core.groups.Tuple.tuple("min-over-max", "INVALID_REQUEST", "decode"));
        assertThat(failures).allSatisfy(x -> assertThat(x.getMetadata()).containsEntry("source", "test"));
    }

    private static void run(StreamExecutionEnvironment env, AnnotationPipeline.Outputs outputs,
            List<AnnotationResult> results, List<AnnotationFailure> failures) throws Exception {
        try (CloseableIterator<AnnotationResult> r = outputs.results().collectAsync();
                CloseableIterator<AnnotationFailure> f = outputs.failures().collectAsync()) {
            env.execute("pipeline-test");
            r.forEachRemaining(results::add);
            f.forEachRemaining(failures::add);
        }
    }

    private static void add(List<byte[]> values, Map<String, String> expectedCode, String id, String uri, String code) {
        values.add(TestRequests.encode(TestRequests.uri(id, uri)));
        expectedCode.put(id, code);
    }
}
