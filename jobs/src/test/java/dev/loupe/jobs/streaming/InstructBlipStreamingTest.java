package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real InstructBLIP runtime inside the streaming job: requests through Kafka and Flink get exactly the ids
 * transformers generates for the same image and prompt, whatever batches the dynamic batcher forms, and ranking
 * requests get the reference candidate scores, under static batches and under continuous batching alike, with a
 * decoder-only language model (Vicuna) and an encoder-decoder one (Flan-T5).
 */
@Tag("slow")
class InstructBlipStreamingTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    /**
     * @param greedy the fixture's batch reference to expect (Vicuna's with the Q-Former instruction right-padded, as
     *               the runtime pads it)
     */
    @ParameterizedTest(name = "{0}, {2}")
    @CsvSource({"instructblip-vicuna, greedy_qformer_right_padded, STATIC",
            "instructblip-vicuna, greedy_qformer_right_padded, CONTINUOUS",
            "instructblip-flant5, greedy, STATIC", "instructblip-flant5, greedy, CONTINUOUS"})
    void streamedRequestsGetTheTransformersResults(String model, String greedy, Scheduling scheduling)
            throws Exception {
        JsonNode ref = new ObjectMapper().readTree(FIXTURE.resolve(model + "/reference.json").toFile());
        JsonNode batch = ref.path("batch");
        JsonNode expectedRows = batch.path(greedy).path("rows");

        try (RunningJob job = new RunningJob()) {
            job.conf.set(dev.loupe.flink.LoupeOptions.BATCH_MAX_SIZE, 3);
            job.conf.set(dev.loupe.flink.LoupeOptions.BATCH_SCHEDULING, scheduling);
            job.start(ModelRuntimes.resolve(FIXTURE.resolve(model + "/checkpoint"), job.conf));

            List<AnnotationRequest> requests = new ArrayList<>();
            for (int copy = 0; copy < 2; copy++) {
                for (int i = 0; i < 3; i++) {
                    byte[] png = Files.readAllBytes(FIXTURE.resolve("images").resolve(batch.path("images").get(i).asText()));
                    requests.add(AnnotationRequest.newBuilder()
                            .setId("row" + i + "-" + copy)
                            .setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(png)).build())
                            .setTask(Task.VQA)
                            .setPrompt(batch.path("prompts").get(i).asText())
                            .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(12).build())
                            .build());
                }
            }
            JsonNode rank = ref.path("rank");
            List<String> candidates = new ArrayList<>();
            rank.path("candidates").forEach(c -> candidates.add(c.path("candidate").asText()));
            byte[] rankImage = Files.readAllBytes(FIXTURE.resolve("images").resolve(rank.path("image").asText()));
            requests.add(AnnotationRequest.newBuilder()
                    .setId("rank")
                    .setImage(ImageSource.newBuilder().setBytes(ByteBuffer.wrap(rankImage)).build())
                    .setTask(Task.RANK)
                    .setPrompt(rank.path("prompt").asText())
                    .setCandidates(candidates)
                    .build());
            job.topics.sendRequests(job.settings().requestsTopic(), requests);

            List<Topics.Placed<AnnotationResult>> results = job.topics.readCommitted(
                    List.of(job.settings().resultsTopic()), requests.size(), Topics::placedResult);
            Map<String, AnnotationResult> byId = results.stream().map(Topics.Placed::value)
                    .collect(Collectors.toMap(AnnotationResult::getId, Function.identity()));

            assertThat(byId).hasSize(requests.size());
            for (int copy = 0; copy < 2; copy++) {
                for (int i = 0; i < 3; i++) {
                    AnnotationResult r = byId.get("row" + i + "-" + copy);
                    List<Integer> expected = new ArrayList<>();
                    expectedRows.get(i).path("new_token_ids").forEach(n -> expected.add(n.asInt()));
                    assertThat(r.getTokenIds()).as("row %d copy %d", i, copy).containsExactlyElementsOf(expected);
                    assertThat(r.getModelVersion()).isEqualTo(ref.path("model_sha256").asText());
                }
            }
            AnnotationResult ranked = byId.get("rank");
            assertThat(ranked.getText()).isEqualTo(rank.path("best").asText());
            for (int c = 0; c < candidates.size(); c++) {
                assertThat(ranked.getCandidates().get(c).getScore())
                        .isCloseTo(rank.path("candidates").get(c).path("score_sum").asDouble(),
                                org.assertj.core.data.Offset.offset(1e-3));
            }
            assertThat(job.topics.readCommitted(List.of(job.settings().deadLetterTopic()), 0, Topics::failure)).isEmpty();
        }
    }
}
