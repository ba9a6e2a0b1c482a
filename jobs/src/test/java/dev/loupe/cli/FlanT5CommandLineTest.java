package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe annotate} on the InstructBLIP-FlanT5 fixture checkpoint (converted into the cache on first use). */
class FlanT5CommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    /** Runs {@code loupe args...}, expects status 0 and returns stdout's JSON lines. */
    private static List<JsonNode> run(String... args) {
        CliRun run = CliRun.of(args);
        assertThat(run.status()).as(run.err()).isZero();
        return run.lines();
    }

    @Test
    void annotateWithTheFlanT5CheckpointPrintsTheFixtureGreedyIds() throws Exception {
        Path dir = FIXTURE.resolve("instructblip-flant5");
        JsonNode single = JSON.readTree(dir.resolve("reference.json").toFile()).path("single");
        List<JsonNode> lines = run("annotate", "--model", dir.resolve("checkpoint").toString(),
                "--image", FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");

        assertThat(lines).hasSize(1);
        assertThat(lines.get(0).path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(lines.get(0).path("text").asText()).isEqualTo(single.path("greedy").path("text").asText().strip());
    }
}
