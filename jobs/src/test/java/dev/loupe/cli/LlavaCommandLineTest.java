package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code loupe annotate} on a LLaVA-1.5 checkpoint directory (converted into the cache on first use): the user
 * passes the plain prompt and gets transformers' greedy ids, the annotator adding LLaVA's conversation template.
 */
class LlavaCommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @Test
    void annotateALlavaCheckpointPrintsTheFixtureGreedyIds() throws Exception {
        JsonNode single = JSON.readTree(FIXTURE.resolve("llava/reference.json").toFile()).path("single");
        String templated = single.path("prompt").asText();
        String plain = templated.substring("USER: <image>\n".length(), templated.length() - " ASSISTANT:".length());
        String image = FIXTURE.resolve("images").resolve(single.path("image").asText()).toString();

        CliRun r = CliRun.of("annotate", "--model", FIXTURE.resolve("llava/checkpoint").toString(), "--image", image,
                "--prompt", plain, "--max-new-tokens", "12", "--threads", "1");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.lines()).hasSize(1);
        JsonNode line = r.lines().get(0);
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(line.path("text").asText()).isEqualTo(single.path("greedy").path("text").asText().strip());
        assertThat(line.path("prompt").asText()).isEqualTo(plain);
    }
}
