package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe bench} on a tiny generated checkpoint and on the fixture (figures are not asserted, only shape). */
class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Dimensions of a random checkpoint small enough for a test (also used by {@link BenchDtypesCommandTest}). */
    static final String[] TINY = {
        "--image-size", "32", "--patch-size", "8", "--vision-width", "48", "--vision-layers", "1",
        "--vision-heads", "4", "--vision-mlp", "96", "--qformer-width", "32", "--qformer-layers", "2",
        "--qformer-heads", "4", "--qformer-mlp", "64", "--qformer-vocab", "200", "--queries", "4",
        "--llm-width", "32", "--llm-layers", "1", "--llm-heads", "4", "--llm-kv-heads", "2", "--llm-mlp", "64",
        "--vocab", "300"};

    @TempDir
    Path tmp;



    static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void randomCheckpointJsonHasOneResultPerBatchSizeWithExactTokenCounts() throws Exception {
        Path work = tmp.resolve("work");
        CliRun r = CliRun.of(concat(new String[] {"bench", "--random-checkpoint", "--json", "--batch-sizes", "1,3",
                "--max-new-tokens", "4", "--warmup", "0", "--iterations", "1", "--threads", "1",
                "--work-dir", work.toString()}, TINY));

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("max_new_tokens").asInt()).isEqualTo(4);
        assertThat(o.path("intra_op_threads").asInt()).isEqualTo(1);
        // the process's sessions' activation memory as OrtSessions chose it, and the JVM's heap set-up
        assertThat(o.path("activation_memory").asText()).isEqualTo(dev.loupe.model.onnx.OrtSessions
                .activationMemory(dev.loupe.model.api.RuntimeOptions.defaults()).name().toLowerCase(java.util.Locale.ROOT));
        assertThat(o.path("jvm_memory").asText()).contains("initial heap").contains("maximum heap");
        JsonNode results = o.path("results");
        assertThat(results).hasSize(2);
        assertThat(results.get(0).path("batch_size").asInt()).isEqualTo(1);
        assertThat(results.get(1).path("batch_size").asInt()).isEqualTo(3);
        for (JsonNode res : results) {
            assertThat(res.path("new_tokens_per_image").asInt()).isEqualTo(4);
            assertThat(res.path("images_per_second").asDouble()).isPositive();
            assertThat(res.path("tokens_per_second").asDouble())
                    .isCloseTo(4 * res.path("images_per_second").asDouble(), org.assertj.core.data.Offset.offset(1e-6));
            assertThat(res.path("prefill_ms_per_image").asDouble()).isPositive();
            assertThat(res.path("heap_peak_bytes").asLong()).isPositive();
            // a tiny model can take less CPU than the clock resolution: only the field's presence and sign are stable
            assertThat(res.path("cpu_seconds_per_image").asDouble()).isNotNegative();
        }
        assertThat(Files.isRegularFile(work.resolve("checkpoint/model.safetensors"))).isTrue();
        assertThat(Files.isRegularFile(work.resolve("package/manifest.json"))).isTrue();
    }

    /**
     * With the device-bound runner the JSON carries its host-boundary bytes: decode steps, and the image side's bytes
     * (pixels and instructions in; nothing out: the projected queries stay on the device for the prefill). Two LLaMA
     * heads of 16, as the fused decoder needs.
     */
    @Test
    void deviceBoundRunnerReportsItsHostBoundaryBytesImageSideIncluded() throws Exception {
        String[] fusable = TINY.clone();
        fusable[java.util.Arrays.asList(fusable).indexOf("--llm-heads") + 1] = "2";
        CliRun r = CliRun.of(concat(new String[] {"bench", "--random-checkpoint", "--json", "--batch-sizes", "2",
                "--max-new-tokens", "3", "--warmup", "0", "--iterations", "1", "--threads", "1", "--runner",
                "device-bound", "--work-dir", tmp.resolve("work").toString()}, fusable));

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode traffic = JSON.readTree(r.out()).path("results").get(0).path("host_traffic");
        assertThat(traffic.path("decode_steps").asLong()).isPositive();
        assertThat(traffic.path("image_bytes_to_device").asLong()).isGreaterThanOrEqualTo(3L * 32 * 32 * 4);
        assertThat(traffic.path("image_bytes_to_host").asLong()).as("the projected queries stay on the device")
                .isZero();
    }

    @Test
    void fixtureTableForcesTheTokenCountPastEndOfSequence() {
        Path checkpoint = Path.of(System.getProperty("loupe.fixtures"), "hf-reference", "instructblip-vicuna",
                "checkpoint");
        CliRun r = CliRun.of("bench", "--model", checkpoint.toString(), "--batch-sizes", "2", "--max-new-tokens", "30",
                "--warmup", "0", "--iterations", "1", "--threads", "1");

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("| batch | scheduling | images/run | images/s | tokens/s | prefill ms/image");
        assertThat(r.out()).containsPattern("\\n\\| 2 \\| continuous \\| 2 \\| [0-9.]+ \\| [0-9.]+ \\|");
    }

    /**
     * A length mix measured with both loops: each image generates its count from the mix exactly (the fixture's
     * end-of-sequence forced past), a run is batch size x mix size images, and both loops report per length.
     */
    @Test
    void lengthMixRunsBothSchedulingsOnTheSameImages() throws Exception {
        Path checkpoint = Path.of(System.getProperty("loupe.fixtures"), "hf-reference", "instructblip-vicuna",
                "checkpoint");
        CliRun r = CliRun.of("bench", "--model", checkpoint.toString(), "--batch-sizes", "2", "--length-mix", "1,3,9",
                "--scheduling", "static,continuous", "--warmup", "0", "--iterations", "1", "--threads", "1", "--json");

        assertThat(r.status()).as(r.err()).isZero();
        JsonNode o = JSON.readTree(r.out());
        assertThat(o.path("scheduling").asText()).isEqualTo("static,continuous");
        assertThat(o.path("length_mix").toString()).isEqualTo("[1,3,9]");
        JsonNode results = o.path("results");
        assertThat(results).hasSize(2);
        assertThat(results.get(0).path("scheduling").asText()).isEqualTo("static");
        assertThat(results.get(1).path("scheduling").asText()).isEqualTo("continuous");
        for (JsonNode res : results) {
            assertThat(res.path("images_per_run").asInt()).isEqualTo(6);
            assertThat(res.path("new_tokens_per_image").asDouble()).isEqualTo(13.0 / 3);
            assertThat(res.path("tokens_per_second").asDouble()).isCloseTo(
                    13.0 / 3 * res.path("images_per_second").asDouble(), org.assertj.core.data.Offset.offset(1e-6));
            assertThat(res.path("decode_ms_per_step").isNull()).isTrue();
            JsonNode byLength = res.path("ms_to_result_by_length");
            assertThat(byLength.size()).isEqualTo(3);
            for (String length : new String[] {"1", "3", "9"}) {
                assertThat(byLength.path(length).asDouble()).as(length).isPositive();
            }
            assertThat(res.path("split_per_run").path("image_side_ms").asDouble()).isPositive();
        }
        // where the time went: static batches generate in one piece; the continuous loop's steps carry every token
        // after each row's first (2 x (0 + 2 + 8) per run), its prefills one per admitted group
        JsonNode staticSplit = results.get(0).path("split_per_run");
        assertThat(staticSplit.path("static_language_ms").asDouble()).isPositive();
        assertThat(staticSplit.path("steps").asDouble()).isZero();
        JsonNode continuousSplit = results.get(1).path("split_per_run");
        assertThat(continuousSplit.path("static_language_ms").asDouble()).isZero();
        assertThat(continuousSplit.path("prefill_runs").asDouble()).isBetween(3.0, 6.0);
        assertThat(continuousSplit.path("steps").asDouble() * continuousSplit.path("mean_step_rows").asDouble())
                .isCloseTo(20.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(CliRun.of("bench", "--model", checkpoint.toString(), "--scheduling", "dynamic").status())
                .isEqualTo(2);
    }

    @Test
    void exactlyOneModelSourceIsRequired() {
        assertThat(CliRun.of("bench").status()).isEqualTo(2);
        assertThat(CliRun.of("bench", "--random-checkpoint", "--model", tmp.toString()).status()).isEqualTo(2);
        CliRun bad = CliRun.of("bench", "--random-checkpoint", "--image-size", "30");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("patch size");
    }
}
