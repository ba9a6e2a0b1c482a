package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code loupe annotate} on a BLIP-2 (OPT) Hugging Face checkpoint directory, converted on the fly. */
class Blip2OptCommandLineTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @Test
    void annotateABlip2OptCheckpointPrintsTheFixtureGreedyIds() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode single = json.readTree(FIXTURE.resolve("blip2-opt/reference.json").toFile()).path("single");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        synchronized (CommandLineTest.class) {
            PrintStream oldOut = System.out;
            PrintStream oldErr = System.err;
            try {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
                status = Loupe.execute(new String[] {"annotate",
                        "--model", FIXTURE.resolve("blip2-opt/checkpoint").toString(),
                        "--image", FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                        "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12", "--threads", "1"});
            } finally {
                System.setOut(oldOut);
                System.setErr(oldErr);
            }
        }

        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertThat(lines).hasSize(1);
        JsonNode line = json.readTree(lines[0]);
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
        assertThat(line.path("prompt").asText()).isEqualTo(single.path("prompt").asText());
    }
}
