package dev.loupe.jobs.enrich;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.webdataset.ShardReader;
import dev.loupe.jobs.webdataset.TestShards;
import dev.loupe.model.api.AnnotatorFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe enrich} over img2dataset-style WebDataset shards with the fast echo model: the same shards with a
 * {@code KEY.loupe.json} member after each sample, every other member byte for byte and in order, failures in the
 * added member, and resuming.
 */
class WebDatasetEnrichTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURES = Path.of(System.getProperty("loupe.fixtures"), "webdataset");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @Test
    void annotatesEverySampleKeepingEveryMemberAndRecordsFailuresInTheAddedMember() throws Exception {
        Path shards = TestShards.img2dataset(dir.resolve("shards"), 0, 0);
        byte[] jpg = Requests.image(16, 16, "jpg", 9);
        try (TestShards out = TestShards.create(shards.resolve("00000.tar"))) {
            out.sample("000000000", 0).sample("000000001", Arrays.copyOf(jpg, jpg.length / 3)).sample("000000002", 2);
        }
        try (TestShards out = TestShards.create(shards.resolve("00001.tar"))) {
            out.sample("000000003", 3).member("000000004.txt", TestShards.text("download failed"))
                    .member("000000004.json", TestShards.text("{\"status\": \"failed_to_download\"}"))
                    .sample("000000005", 5);
        }
        // a shard written by Python's tarfile as img2dataset writes it (PAX headers, mode 0444, owner bigdata);
        // its last sample's JPEG is truncated
        Files.copy(FIXTURES.resolve("img2dataset-00000.tar"), shards.resolve("00002.tar"));
        Path output = dir.resolve("enriched");
        Configuration config = config(shards.toString(), output);
        config.set(EnrichOptions.QUESTIONS, List.of("answer_color=What color is it?"));
        config.set(EnrichOptions.CANDIDATES, Map.of("kind", "cat|dog|bird"));
        config.set(EnrichOptions.CANDIDATE_SCORES, true);
        String counter = counter();

        EnrichJob.Report report = run(config, new CountingAnnotatorFactory(counter, 0, null));

        assertThat(report.complete()).as(printed()).isTrue();
        assertThat(report.rows()).isEqualTo(10);
        assertThat(report.rowsWithErrors()).isEqualTo(3);
        assertThat(CountingAnnotatorFactory.annotated(counter)).isEqualTo(7 * 3);   // 7 good images × 3 columns
        try (Stream<Path> files = Files.list(output)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("00000.tar", "00001.tar", "00002.tar");
        }
        for (String shard : List.of("00000.tar", "00001.tar", "00002.tar")) {
            assertKeptWithOneAddedMemberPerSample(shards.resolve(shard), output.resolve(shard));
        }
        try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(output.resolve("00002.tar")))) {
            for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {   // header fields kept too
                assertThat(entry.getUserName()).as(entry.getName()).isEqualTo("bigdata");
                assertThat(entry.getLastModifiedDate().getTime()).isEqualTo(1_700_000_000_000L);
                assertThat(entry.getMode() & 0777).isEqualTo(entry.getName().endsWith(".loupe.json") ? 0644 : 0444);
            }
        }
        assertThat(added(output.resolve("00002.tar"), "000000002").get("error").isNull()).isTrue();
        assertThat(added(output.resolve("00002.tar"), "000000003").get("error").asText())
                .matches("IMAGE_(CORRUPT|UNSUPPORTED_FORMAT): .*");

        JsonNode good = added(output.resolve("00000.tar"), "000000000");
        assertThat(good.fieldNames()).toIterable()
                .containsExactly("caption", "answer_color", "kind", "kind_scores", "error");
        assertThat(good.get("caption").asText()).startsWith("echo: ");
        assertThat(good.get("answer_color").asText()).contains("What color is it?");
        assertThat(good.get("kind").asText()).isEqualTo("cat");   // the echo model scores candidates 0, -1, -2
        assertThat(good.get("kind_scores").toString()).isEqualTo("{\"cat\":0.0,\"dog\":-1.0,\"bird\":-2.0}");
        assertThat(good.get("error").isNull()).isTrue();
        JsonNode corrupt = added(output.resolve("00000.tar"), "000000001");
        assertThat(corrupt.get("error").asText()).matches("IMAGE_(CORRUPT|UNSUPPORTED_FORMAT): .*");
        assertThat(corrupt.get("caption").isNull()).isTrue();
        JsonNode noImage = added(output.resolve("00001.tar"), "000000004");
        assertThat(noImage.get("error").asText()).startsWith("INVALID_REQUEST: ").contains("has no image member");
        assertThat(added(output.resolve("00001.tar"), "000000005").get("error").isNull()).isTrue();
    }

    @Test
    void anInterruptedRunResumesAndAnnotatesEachSampleOnce() throws Exception {
        int perShard = 8;
        int n = 2 * perShard;
        Path shards = TestShards.img2dataset(dir.resolve("shards"), 2, perShard);
        Path output = dir.resolve("enriched");
        Configuration config = config(shards + "/*.tar", output);
        config.set(EnrichOptions.QUESTIONS, List.of("What is it?"));
        config.set(JobOptions.RESTART_ATTEMPTS, 0);
        Path arm = dir.resolve("interrupt-now");
        String counter = counter();
        int requests = 2 * n;

        InterruptedEnrichRun.interruptThenResume(config, output, arm, requests, counter, this::run, this::printed);
        for (String shard : List.of("00000.tar", "00001.tar")) {
            assertKeptWithOneAddedMemberPerSample(shards.resolve(shard), output.resolve(shard));
        }
        for (int key = 0; key < n; key++) {
            JsonNode added = added(output.resolve(String.format("%05d.tar", key / perShard)), String.format("%09d", key));
            assertThat(added.get("caption").asText()).startsWith("echo: ");
            assertThat(added.get("answer_1").asText()).contains("What is it?");
            assertThat(added.get("error").isNull()).as(added.toString()).isTrue();
        }

        // run 3: nothing left to compute; the output is written again the same
        byte[] before = Files.readAllBytes(output.resolve("00001.tar"));
        EnrichJob.Report again = run(config, new CountingAnnotatorFactory(counter, 0, null));
        assertThat(again.requests()).isZero();
        assertThat(Files.readAllBytes(output.resolve("00001.tar"))).isEqualTo(before);
    }

    @Test
    void badShardInputsAreRefusedBeforeAnythingRuns() throws Exception {
        Path shards = TestShards.img2dataset(dir.resolve("shards"), 1, 2);
        Path model = dir.resolve("echo-model");
        EnrichSettings flagged = EnrichSettings.from(EnrichArguments.ARGUMENTS.parse(Map.of(), "--model",
                model.toString(), "--input", shards.resolve("00000.tar").toString(), "--output",
                dir.resolve("o").toString(), "--webdataset-extension", "ann.json", "--image-column", ".jpg"));
        assertThat(flagged.webdataset()).isTrue();
        assertThat(flagged.shards().shards().shards()).containsExactly(shards.resolve("00000.tar"));
        assertThat(flagged.shards().addedExtension()).isEqualTo("ann.json");
        assertThat(flagged.shards().imageExtension()).isEqualTo("jpg");
        Configuration table = config(shards.resolve("00000.parquet").toString(), dir.resolve("o.parquet"));
        assertThat(EnrichSettings.from(table).webdataset()).isFalse();
        assertThatThrownBy(() -> EnrichSettings.from(config(shards.toString(), shards.resolve("out"))))
                .hasMessageContaining("outside the input's folder");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThatThrownBy(() -> EnrichSettings.from(config(empty.toString(), dir.resolve("out"))))
                .hasMessageContaining("holds no WebDataset shard");
        Path gz = Files.createDirectories(dir.resolve("gz")).resolve("00000.tar.gz");
        try (var out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(Files.readAllBytes(shards.resolve("00000.tar")));
        }
        assertThatThrownBy(() -> EnrichSettings.from(config(gz.toString(), dir.resolve("out"))))
                .hasMessageContaining("is compressed");

        Path truncated = Files.createDirectories(dir.resolve("truncated")).resolve("00000.tar");
        long lastImage;
        try (ShardReader reader = ShardReader.open(shards.resolve("00000.tar"), name -> 0)) {
            reader.next();
            lastImage = reader.next().image(null).offset();
        }
        Files.write(truncated, Arrays.copyOf(Files.readAllBytes(shards.resolve("00000.tar")), (int) lastImage + 10));
        assertThatThrownBy(() -> run(config(truncated.toString(), dir.resolve("cut")), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot read shard " + truncated);
        assertThat(dir.resolve("cut")).doesNotExist();
        Path enriched = dir.resolve("enriched");
        try (TestShards out = TestShards.create(enriched.resolve("00000.tar"))) {
            out.sample("000000000", 0).member("000000000.loupe.json", TestShards.text("{}"))
                    .sample("000000001", 1).member("000000001.loupe.json", TestShards.text("{}"));
        }
        Configuration again = config(enriched.toString(), dir.resolve("twice"));
        assertThatThrownBy(() -> run(again, new CountingAnnotatorFactory(counter(), 0, null)))
                .hasMessageContaining("already has a .loupe.json member");
        again.set(EnrichOptions.WEBDATASET_EXTENSION, "loupe2.json");
        assertThat(run(again, new CountingAnnotatorFactory(counter(), 0, null)).complete()).isTrue();
        assertThat(TestShards.names(dir.resolve("twice/00000.tar"))).containsExactly("000000000.jpg",
                "000000000.txt", "000000000.json", "000000000.loupe.json", "000000000.loupe2.json", "000000001.jpg",
                "000000001.txt", "000000001.json", "000000001.loupe.json", "000000001.loupe2.json");
    }

    /** {@code out} holds every member of {@code in}, byte for byte, in order, plus KEY.loupe.json after each sample. */
    private static void assertKeptWithOneAddedMemberPerSample(Path in, Path out) throws IOException {
        Map<String, byte[]> original = TestShards.members(in);
        List<String> expected = new ArrayList<>();
        String key = null;
        for (String name : original.keySet()) {
            String k = name.substring(0, name.indexOf('.'));
            if (key != null && !k.equals(key)) {
                expected.add(key + ".loupe.json");
            }
            key = k;
            expected.add(name);
        }
        expected.add(key + ".loupe.json");
        Map<String, byte[]> copy = TestShards.members(out);
        assertThat(new ArrayList<>(copy.keySet())).isEqualTo(expected);
        for (Map.Entry<String, byte[]> member : original.entrySet()) {
            assertThat(copy.get(member.getKey())).as(member.getKey()).isEqualTo(member.getValue());
        }
    }

    private static JsonNode added(Path shard, String key) throws IOException {
        return JSON.readTree(TestShards.members(shard).get(key + ".loupe.json"));
    }

    /** The user's options: shards (a folder, a glob or one shard) as the input. */
    private Configuration config(String input, Path output) throws IOException {
        Configuration config = EnrichConfigs.userOptions(dir, Path.of(input), output);
        config.set(JobOptions.RESTART_DELAY, Duration.ofMillis(100));
        return config;
    }

    private EnrichJob.Report run(Configuration config, AnnotatorFactory factory) throws Exception {
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        return EnrichJob.run(config, factory, new BoundedJobRunner(out, false, Duration.ofSeconds(5), "annotations"),
                out);
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    private static String counter() {
        return "enrich-wds-" + UUID.randomUUID();
    }

}
