package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.pkg.Manifest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe convert --dtype fp16}: a half-size package that annotates like the fp32 one on the fixture. */
class ConvertDtypeCommandTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    record Run(int status, String out, String err) {}

    private static synchronized Run run(String... args) {
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
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void fp16PackageAnnotatesWithTheFixtureGreedyIds(@TempDir Path tmp) throws Exception {
        Path pkg = tmp.resolve("pkg16");
        Run c = run("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString(), "--dtype", "fp16");
        assertThat(c.status()).as(c.err()).isZero();
        assertThat(c.err()).contains("(fp16)");
        assertThat(Manifest.read(pkg).dtype()).isEqualTo("fp16");

        JsonNode single = new ObjectMapper().readTree(FIXTURE.resolve("instructblip-vicuna/reference.json").toFile())
                .path("single");
        Run a = run("annotate", "--model", pkg.toString(), "--image",
                FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");
        assertThat(a.status()).as(a.err()).isZero();
        JsonNode line = new ObjectMapper().readTree(a.out().strip());
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
    }

    @Test
    void unknownDtypeIsRefused(@TempDir Path tmp) {
        Run c = run("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", tmp.resolve("p").toString(), "--dtype", "int8");
        assertThat(c.status()).isEqualTo(2);
        assertThat(c.err()).contains("fp32 or fp16");
    }
}
