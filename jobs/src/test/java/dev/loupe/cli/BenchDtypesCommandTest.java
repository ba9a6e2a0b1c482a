package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.pkg.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe bench --dtypes} measures one package per dtype in one run, and {@code loupe bench fidelity} compares
 * an int8 package of the fixture with its fp32 package (figures are not asserted beyond their shape and range).
 */
class BenchDtypesCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @TempDir
    Path tmp;

    @Test
    void eachDtypeIsConvertedAndMeasuredInOneRun() throws Exception {
        Path work = tmp.resolve("work");
        List<String> args = new ArrayList<>(List.of("bench", "--random-checkpoint", "--json", "--batch-sizes", "1,2",
                "--max-new-tokens", "3", "--warmup", "0", "--iterations", "1", "--threads", "1",
                "--dtypes", "fp32,int8", "--work-dir", work.toString()));
        args.addAll(List.of(BenchCommandTest.TINY));
        CliRun r = CliRun.of(args.toArray(String[]::new));

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode results = JSON.readTree(r.out()).path("results");
        assertThat(results).hasSize(4);
        assertThat(results.findValuesAsText("dtype")).containsExactly("fp32", "fp32", "int8", "int8");
        for (JsonNode res : results) {
            assertThat(res.path("images_per_second").asDouble()).isPositive();
        }
        assertThat(Manifest.read(work.resolve("package")).dtype()).isEqualTo("fp32");
        assertThat(Manifest.read(work.resolve("package-int8")).dtype()).isEqualTo("int8");
    }

    /**
     * {@code --decoders plain,fused}: both LLaMA decoder graphs of one checkpoint measured in one run (an LLM 64 wide
     * with 4 heads over 2 key/value heads, so the fused graph's GroupQueryAttention groups heads).
     */
    @Test
    void bothDecoderGraphsAreConvertedAndMeasuredInOneRun() throws Exception {
        Path work = tmp.resolve("work");
        List<String> args = new ArrayList<>(List.of("bench", "--random-checkpoint", "--json", "--batch-sizes", "2",
                "--max-new-tokens", "3", "--warmup", "0", "--iterations", "1", "--threads", "1",
                "--decoders", "plain,fused", "--work-dir", work.toString()));
        List<String> tiny = new ArrayList<>(List.of(BenchCommandTest.TINY));
        tiny.set(tiny.indexOf("--llm-width") + 1, "64"); // head_dim 16, which the fused kernel takes
        args.addAll(tiny);
        CliRun r = CliRun.of(args.toArray(String[]::new));

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode results = JSON.readTree(r.out()).path("results");
        assertThat(results.findValuesAsText("decoder")).containsExactly("plain", "fused");
        for (JsonNode res : results) {
            assertThat(res.path("images_per_second").asDouble()).isPositive();
        }
        assertThat(Manifest.read(work.resolve("package-plain")).dimensions().path("llm_decoder").asText())
                .isEqualTo("plain");
        assertThat(Manifest.read(work.resolve("package")).dimensions().path("llm_decoder").asText())
                .isEqualTo("fused");
        assertThat(CliRun.of("bench", "--random-checkpoint", "--decoders", "fast").status()).isEqualTo(2);
    }

    @Test
    void dtypesOfAPackageAreRefused() throws Exception {
        Path pkg = tmp.resolve("pkg");
        assertThat(CliRun.of("convert", "--checkpoint", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--out", pkg.toString()).status()).isZero();
        CliRun r = CliRun.of("bench", "--model", pkg.toString(), "--dtypes", "int8");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("converts a checkpoint");
        assertThat(CliRun.of("bench", "--random-checkpoint", "--dtypes", "int3").status()).isEqualTo(2);
    }

    @Test
    void fidelityComparesTheInt8PackageOfTheFixtureWithFp32() throws Exception {
        Path fp32 = tmp.resolve("fp32");
        Path int8 = tmp.resolve("int8");
        Path checkpoint = FIXTURE.resolve("instructblip-vicuna/checkpoint");
        assertThat(CliRun.of("convert", "--checkpoint", checkpoint.toString(), "--out", fp32.toString()).status())
                .isZero();
        CliRun c = CliRun.of("convert", "--checkpoint", checkpoint.toString(), "--out", int8.toString(),
                "--dtype", "int8");
        assertThat(c.status()).as(c.err()).isZero();
        assertThat(c.err()).contains("(int8)");

        List<String> args = new ArrayList<>(List.of("bench", "fidelity", "--reference", fp32.toString(),
                "--candidate", int8.toString(), "--max-new-tokens", "6", "--threads", "1", "--json"));
        try (var files = Files.list(FIXTURE.resolve("images"))) {
            files.sorted().forEach(f -> args.addAll(List.of("--image", f.toString())));
        }
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("candidate_dtype").asText()).isEqualTo("int8");
        assertThat(o.path("images").asInt()).isEqualTo(3);
        assertThat(o.path("tokens").asInt()).isPositive();
        assertThat(o.path("vision_cosine_min").asDouble()).isBetween(0.99, 1.0 + 1e-9);
        assertThat(o.path("mean_abs_logprob_diff").asDouble()).isBetween(0.0, 0.1);
        assertThat(o.path("leading_agreement").asDouble()).isBetween(0.0, 1.0);

        CliRun usage = CliRun.of("bench", "fidelity", "--reference", fp32.toString());
        assertThat(usage.status()).isEqualTo(2);
    }
}
