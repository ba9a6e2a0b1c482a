package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code loupe annotate} on a LLaVA-1.5 checkpoint directory (converted into the cache on first use): the user
 * passes the plain prompt and gets transformers' greedy ids, the annotator adding LLaVA's conversation template.
 */
class LlavaCommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

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

    @Test
    void annotateALlavaCheckpointPrintsTheFixtureGreedyIds() throws Exception {
        JsonNode single = JSON.readTree(FIXTURE.resolve("llava/reference.json").toFile()).path("single");
        String templated = single.path("prompt").asText();
        String plain = templated.substring("USER: <image>\n".length(), templated.length() - " ASSISTANT:".length());
        String image = FIXTURE.resolve("images").resolve(single.path("image").asText()).toString();

        Run r = run("annotate", "--model", FIXTURE.resolve("llava/checkpoint").toString(), "--image", image,
                "--prompt", plain, "--max-new-tokens", "12", "--threads", "1");

        assertThat(r.status).as(r.err).isZero();
        assertThat(r.lines).hasSize(1);
        JsonNode line = r.lines.get(0);
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(line.path("text").asText()).isEqualTo(single.path("greedy").path("text").asText().strip());
        assertThat(line.path("prompt").asText()).isEqualTo(plain);
    }
}
