package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe convert} and {@code loupe annotate} as a user runs them, on the transformers fixture. */
class CommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @TempDir
    static Path tmp;

    static Path pkg;
    static JsonNode reference;

    @BeforeAll
    static void convert() throws Exception {
        pkg = tmp.resolve("pkg");
        CliRun r = CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString());
        assertThat(r.status()).as(r.err()).isZero();
        reference = JSON.readTree(FIXTURE.resolve("instructblip-vicuna/reference.json").toFile());
    }



    private static String image(String name) {
        return FIXTURE.resolve("images").resolve(name).toString();
    }

    @Test
    void annotatePrintsTheFixtureGreedyIds() throws Exception {
        JsonNode single = reference.path("single");
        CliRun r = CliRun.of("annotate", "--model", pkg.toString(), "--image", image(single.path("image").asText()),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.lines()).hasSize(1);
        JsonNode line = r.lines().get(0);
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(line.path("prompt").asText()).isEqualTo(single.path("prompt").asText());
        assertThat(line.path("image").asText()).isEqualTo(image(single.path("image").asText()));
        assertThat(line.has("text")).isTrue();
        assertThat(line.path("score").isNumber()).isTrue();
    }

    @Test
    void promptsFilePairsEveryImageWithEveryPromptInImageMajorOrder() throws Exception {
        JsonNode batch = reference.path("batch");
        Path prompts = tmp.resolve("prompts.json");
        Files.writeString(prompts, JSON.writeValueAsString(List.of(batch.path("prompts").get(0).asText(),
                batch.path("prompts").get(2).asText())));
        Path missing = tmp.resolve("missing.png");
        CliRun r = CliRun.of("annotate", "--model", pkg.toString(), "--image", image(batch.path("images").get(0).asText()),
                "--image", missing.toString(), "--image", image(batch.path("images").get(2).asText()),
                "--prompts-file", prompts.toString(), "--max-new-tokens", "12", "--batch-size", "2");

        assertThat(r.status()).as("a failed pair makes the status non-zero").isEqualTo(1);
        assertThat(r.lines()).hasSize(6);
        JsonNode rows = batch.path("greedy_qformer_right_padded").path("rows");
        assertThat(r.lines().get(0).path("token_ids")).isEqualTo(rows.get(0).path("new_token_ids"));
        assertThat(r.lines().get(2).path("error").path("code").asText()).isEqualTo("IMAGE_NOT_FOUND");
        assertThat(r.lines().get(3).path("error").path("code").asText()).isEqualTo("IMAGE_NOT_FOUND");
        assertThat(r.lines().get(3).path("prompt").asText()).isEqualTo(batch.path("prompts").get(2).asText());
        assertThat(r.lines().get(5).path("token_ids")).isEqualTo(rows.get(2).path("new_token_ids"));
        assertThat(r.lines().get(4).path("image").asText()).isEqualTo(image(batch.path("images").get(2).asText()));
    }

    @Test
    void annotateAcceptsACheckpointDirectoryAndUsesTheCaptionTemplateByDefault() throws Exception {
        CliRun r = CliRun.of("annotate", "--model", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--image", image("img_40x30.png"), "--max-new-tokens", "3");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.lines().get(0).path("prompt").asText()).isEqualTo("A short image description:");
        assertThat(r.lines().get(0).path("task").asText()).isEqualTo("caption");
    }

    @Test
    void questionIsWrappedInTheVqaTemplate() throws Exception {
        CliRun r = CliRun.of("annotate", "--model", pkg.toString(), "--image", image("img_40x30.png"),
                "--question", "what is it?", "--max-new-tokens", "2");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.lines().get(0).path("prompt").asText()).isEqualTo("Question: what is it? Short answer:");
        assertThat(r.lines().get(0).path("task").asText()).isEqualTo("vqa");
    }

    @Test
    void rankPrintsEveryCandidateScoreInInputOrder() throws Exception {
        JsonNode rank = reference.path("rank");
        List<String> candidates = new ArrayList<>();
        for (JsonNode c : rank.path("candidates")) {
            candidates.add(c.path("candidate").asText());
        }
        CliRun r = CliRun.of("annotate", "--model", pkg.toString(), "--image", image(rank.path("image").asText()),
                "--prompt", rank.path("prompt").asText(), "--task", "rank",
                "--candidates", JSON.writeValueAsString(candidates));

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode line = r.lines().get(0);
        assertThat(line.path("task").asText()).isEqualTo("rank");
        assertThat(line.path("text").asText()).isEqualTo(rank.path("best").asText());
        for (int c = 0; c < candidates.size(); c++) {
            assertThat(line.path("candidates").get(c).path("text").asText()).isEqualTo(candidates.get(c));
            assertThat(line.path("candidates").get(c).path("score").asDouble())
                    .isCloseTo(rank.path("candidates").get(c).path("score_sum").asDouble(),
                            org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    @Test
    void beamSearchPrintsTheFixtureBeams() throws Exception {
        JsonNode single = reference.path("single");
        CliRun r = CliRun.of("annotate", "--model", pkg.toString(), "--image", image(single.path("image").asText()),
                "--prompt", single.path("prompt").asText(), "--num-beams", "3", "--num-return-sequences", "3",
                "--max-new-tokens", "12");

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode line = r.lines().get(0);
        JsonNode expected = single.path("beam").path("beams");
        assertThat(line.path("beams")).hasSize(3);
        for (int j = 0; j < 3; j++) {
            JsonNode beam = line.path("beams").get(j);
            assertThat(beam.path("token_ids")).as("beam %d", j).isEqualTo(expected.get(j).path("new_token_ids"));
            assertThat(beam.path("score").asDouble())
                    .isCloseTo(expected.get(j).path("sequence_score").asDouble(), org.assertj.core.api.Assertions.within(1e-4));
        }
        assertThat(line.path("token_ids")).isEqualTo(expected.get(0).path("new_token_ids"));
        assertThat(line.path("score").asDouble()).isEqualTo(line.path("beams").get(0).path("score").asDouble());
    }

    @Test
    void samplingFlagsReachTheModel() throws Exception {
        JsonNode single = reference.path("single");
        String[] base = {"annotate", "--model", pkg.toString(), "--image", image(single.path("image").asText()),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12", "--do-sample"};
        CliRun topOne = CliRun.of(concat(base, "--top-k", "1", "--temperature", "0.5", "--seed", "3"));
        assertThat(topOne.status()).as(topOne.err()).isZero();
        assertThat(topOne.lines().get(0).path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));

        CliRun seeded = CliRun.of(concat(base, "--top-k", "0", "--temperature", "1.5", "--top-p", "0.95", "--seed", "42",
                "--repetition-penalty", "1.2"));
        CliRun again = CliRun.of(concat(base, "--top-k", "0", "--temperature", "1.5", "--top-p", "0.95", "--seed", "42",
                "--repetition-penalty", "1.2"));
        assertThat(seeded.status()).as(seeded.err()).isZero();
        assertThat(again.lines().get(0).path("token_ids")).isEqualTo(seeded.lines().get(0).path("token_ids"));

        CliRun badStop = CliRun.of(concat(base, "--early-stopping", "sometimes"));
        assertThat(badStop.status()).isEqualTo(2);
        assertThat(badStop.err()).contains("early_stopping");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badUsageIsRefusedClearly() throws Exception {
        CliRun noCandidates = CliRun.of("annotate", "--model", pkg.toString(), "--image", image("img_40x30.png"),
                "--task", "rank");
        assertThat(noCandidates.status()).isEqualTo(2);
        assertThat(noCandidates.err()).contains("--candidates");

        CliRun noModel = CliRun.of("annotate", "--model", tmp.resolve("nope").toString(), "--image", image("img_40x30.png"));
        assertThat(noModel.status()).isEqualTo(2);
        assertThat(noModel.err()).contains("model directory not found");
    }
}
