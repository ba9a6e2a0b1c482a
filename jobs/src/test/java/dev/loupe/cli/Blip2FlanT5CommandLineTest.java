package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe annotate} on a BLIP-2 (Flan-T5) Hugging Face checkpoint directory, converted on the fly. */
class Blip2FlanT5CommandLineTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @Test
    void annotateABlip2FlanT5CheckpointPrintsTheFixtureGreedyAndBeamIdsAndCandidateScores() throws Exception {
        JsonNode reference = new ObjectMapper().readTree(FIXTURE.resolve("blip2-flant5/reference.json").toFile());
        JsonNode single = reference.path("single");
        String model = FIXTURE.resolve("blip2-flant5/checkpoint").toString();
        String image = FIXTURE.resolve("images").resolve(single.path("image").asText()).toString();

        CliRun greedy = CliRun.of("annotate", "--model", model, "--image", image, "--prompt",
                single.path("prompt").asText(), "--max-new-tokens", "12", "--threads", "1");
        assertThat(greedy.status()).as(greedy.err()).isZero();
        List<JsonNode> lines = greedy.lines();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0).path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(lines.get(0).path("text").asText()).isEqualTo(single.path("greedy").path("text").asText().strip());

        CliRun beams = CliRun.of("annotate", "--model", model, "--image", image, "--prompt",
                single.path("prompt").asText(), "--max-new-tokens", "12", "--num-beams", "3",
                "--num-return-sequences", "3", "--threads", "1");
        assertThat(beams.status()).as(beams.err()).isZero();
        JsonNode printed = beams.lines().get(0).path("beams");
        JsonNode expected = single.path("beam").path("beams");
        assertThat(printed).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(printed.get(i).path("token_ids")).isEqualTo(expected.get(i).path("new_token_ids"));
            assertThat(printed.get(i).path("score").asDouble())
                    .isCloseTo(expected.get(i).path("sequence_score").asDouble(), within(1e-4));
        }

        JsonNode rank = reference.path("rank");
        CliRun ranked = CliRun.of("annotate", "--model", model, "--image",
                FIXTURE.resolve("images").resolve(rank.path("image").asText()).toString(), "--prompt",
                rank.path("prompt").asText(), "--task", "rank", "--candidates", "[\"red\", \"blue\", \"green and white\"]",
                "--threads", "1");
        assertThat(ranked.status()).as(ranked.err()).isZero();
        JsonNode candidates = ranked.lines().get(0).path("candidates");
        for (int c = 0; c < 3; c++) {
            assertThat(candidates.get(c).path("score").asDouble())
                    .isCloseTo(rank.path("candidates").get(c).path("score_sum").asDouble(), within(1e-3));
        }
        assertThat(ranked.lines().get(0).path("text").asText()).isEqualTo(rank.path("best").asText());
    }
}
