package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe annotate} on a BLIP-2 (OPT) Hugging Face checkpoint directory, converted on the fly. */
class Blip2OptCommandLineTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @Test
    void annotateABlip2OptCheckpointPrintsTheFixtureGreedyIds() throws Exception {
        JsonNode single = new ObjectMapper().readTree(FIXTURE.resolve("blip2-opt/reference.json").toFile())
                .path("single");
        CliRun r = CliRun.of("annotate", "--model", FIXTURE.resolve("blip2-opt/checkpoint").toString(),
                "--image", FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12", "--threads", "1");

        assertThat(r.status()).as(r.err()).isZero();
        List<JsonNode> lines = r.lines();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0).path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(lines.get(0).path("prompt").asText()).isEqualTo(single.path("prompt").asText());
    }
}
