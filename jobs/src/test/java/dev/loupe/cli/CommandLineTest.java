package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
        Run r = run("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString());
        assertThat(r.status).as(r.err).isZero();
        reference = JSON.readTree(FIXTURE.resolve("instructblip-vicuna/reference.json").toFile());
    }

    record Run(int status, List<JsonNode> lines, String err) {}

    private static synchronized Run run(String... args) throws Exception {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            status = Loupe.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                lines.add(JSON.readTree(line));
            }
        }
        return new Run(status, lines, err.toString(StandardCharsets.UTF_8));
    }

    private static String image(String name) {
        return FIXTURE.resolve("images").resolve(name).toString();
    }

    @Test
    void annotatePrintsTheFixtureGreedyIds() throws Exception {
        JsonNode single = reference.path("single");
        Run r = run("annotate", "--model", pkg.toString(), "--image", image(single.path("image").asText()),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");

        assertThat(r.status).as(r.err).isZero();
        assertThat(r.lines).hasSize(1);
        JsonNode line = r.lines.get(0);
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
        Run r = run("annotate", "--model", pkg.toString(), "--image", image(batch.path("images").get(0).asText()),
                "--image", missing.toString(), "--image", image(batch.path("images").get(2).asText()),
                "--prompts-file", prompts.toString(), "--max-new-tokens", "12", "--batch-size", "2");

        assertThat(r.status).as("a failed pair makes the status non-zero").isEqualTo(1);
        assertThat(r.lines).hasSize(6);
        JsonNode rows = batch.path("greedy_qformer_right_padded").path("rows");
        assertThat(r.lines.get(0).path("token_ids")).isEqualTo(rows.get(0).path("new_token_ids"));
        assertThat(r.lines.get(2).path("error").path("code").asText()).isEqualTo("IMAGE_NOT_FOUND");
        assertThat(r.lines.get(3).path("error").path("code").asText()).isEqualTo("IMAGE_NOT_FOUND");
        assertThat(r.lines.get(3).path("prompt").asText()).isEqualTo(batch.path("prompts").get(2).asText());
        assertThat(r.lines.get(5).path("token_ids")).isEqualTo(rows.get(2).path("new_token_ids"));
        assertThat(r.lines.get(4).path("image").asText()).isEqualTo(image(batch.path("images").get(2).asText()));
    }

    @Test
    void annotateAcceptsACheckpointDirectoryAndUsesTheCaptionTemplateByDefault() throws Exception {
        Run r = run("annotate", "--model", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--image", image("img_40x30.png"), "--max-new-tokens", "3");
        assertThat(r.status).as(r.err).isZero();
        assertThat(r.lines.get(0).path("prompt").asText()).isEqualTo("A short image description:");
        assertThat(r.lines.get(0).path("task").asText()).isEqualTo("caption");
    }

    @Test
    void questionIsWrappedInTheVqaTemplate() throws Exception {
        Run r = run("annotate", "--model", pkg.toString(), "--image", image("img_40x30.png"),
                "--question", "what is it?", "--max-new-tokens", "2");
        assertThat(r.status).as(r.err).isZero();
        assertThat(r.lines.get(0).path("prompt").asText()).isEqualTo("Question: what is it? Short answer:");
        assertThat(r.lines.get(0).path("task").asText()).isEqualTo("vqa");
    }

    @Test
    void rankPrintsEveryCandidateScoreInInputOrder() throws Exception {
        JsonNode rank = reference.path("rank");
        List<String> candidates = new ArrayList<>();
        for (JsonNode c : rank.path("candidates")) {
            candidates.add(c.path("candidate").asText());
        }
        Run r = run("annotate", "--model", pkg.toString(), "--image", image(rank.path("image").asText()),
                "--prompt", rank.path("prompt").asText(), "--task", "rank",
                "--candidates", JSON.writeValueAsString(candidates));

        assertThat(r.status).as(r.err).isZero();
        JsonNode line = r.lines.get(0);
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
    void optionsOfLaterReleasesAndBadUsageAreRefusedClearly() throws Exception {
        Run beams = run("annotate", "--model", pkg.toString(), "--image", image("img_40x30.png"),
                "--num-beams", "3", "--max-new-tokens", "2");
        assertThat(beams.status).isEqualTo(1);
        assertThat(beams.lines.get(0).path("error").path("code").asText()).isEqualTo("UNSUPPORTED_OPTION");

        Run noCandidates = run("annotate", "--model", pkg.toString(), "--image", image("img_40x30.png"),
                "--task", "rank");
        assertThat(noCandidates.status).isEqualTo(2);
        assertThat(noCandidates.err).contains("--candidates");

        Run noModel = run("annotate", "--model", tmp.resolve("nope").toString(), "--image", image("img_40x30.png"));
        assertThat(noModel.status).isEqualTo(2);
        assertThat(noModel.err).contains("model directory not found");
    }
}
