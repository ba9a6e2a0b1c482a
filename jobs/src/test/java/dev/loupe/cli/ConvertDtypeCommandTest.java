package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.pkg.Manifest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code loupe convert --dtype fp16}: a half-size package that annotates like the fp32 one on the fixture. */
class ConvertDtypeCommandTest {
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");



    /** fp16 (float16 storage) and fp16-compute (float16 arithmetic; on CPU, ONNX Runtime casts where it must). */
    @ParameterizedTest
    @ValueSource(strings = {"fp16", "fp16-compute"})
    void fp16PackageAnnotatesWithTheFixtureGreedyIds(String dtype, @TempDir Path tmp) throws Exception {
        Path pkg = tmp.resolve("pkg16");
        CliRun c = CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString(), "--dtype", dtype);
        assertThat(c.status()).as(c.err()).isZero();
        assertThat(c.err()).contains("(" + dtype + ")");
        assertThat(Manifest.read(pkg).dtype()).isEqualTo(dtype);

        JsonNode single = new ObjectMapper().readTree(FIXTURE.resolve("instructblip-vicuna/reference.json").toFile())
                .path("single");
        CliRun a = CliRun.of("annotate", "--model", pkg.toString(), "--image",
                FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");
        assertThat(a.status()).as(a.err()).isZero();
        JsonNode line = new ObjectMapper().readTree(a.out().strip());
        assertThat(line.path("token_ids")).isEqualTo(single.path("greedy").path("new_token_ids"));
    }

    /** {@code --decoder plain} writes the plain LLaMA decoder graph, which annotates with the same greedy ids. */
    @Test
    void plainDecoderPackageAnnotatesWithTheFixtureGreedyIds(@TempDir Path tmp) throws Exception {
        Path pkg = tmp.resolve("plain");
        CliRun c = CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString(), "--decoder", "plain");
        assertThat(c.status()).as(c.err()).isZero();
        assertThat(Manifest.read(pkg).dimensions().path("llm_decoder").asText()).isEqualTo("plain");

        JsonNode single = new ObjectMapper().readTree(FIXTURE.resolve("instructblip-vicuna/reference.json").toFile())
                .path("single");
        CliRun a = CliRun.of("annotate", "--model", pkg.toString(), "--image",
                FIXTURE.resolve("images").resolve(single.path("image").asText()).toString(),
                "--prompt", single.path("prompt").asText(), "--max-new-tokens", "12");
        assertThat(a.status()).as(a.err()).isZero();
        assertThat(new ObjectMapper().readTree(a.out().strip()).path("token_ids"))
                .isEqualTo(single.path("greedy").path("new_token_ids"));

        CliRun bad = CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", tmp.resolve("p").toString(), "--decoder", "fast");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("fused or plain");
    }

    @Test
    void unknownDtypeIsRefused(@TempDir Path tmp) {
        CliRun c = CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", tmp.resolve("p").toString(), "--dtype", "int3");
        assertThat(c.status()).isEqualTo(2);
        assertThat(c.err()).contains("fp32, fp16, fp16-compute, int8 or int4");
    }
}
