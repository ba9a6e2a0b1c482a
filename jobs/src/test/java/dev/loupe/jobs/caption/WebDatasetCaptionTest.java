package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.webdataset.TestShards;
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
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe caption --input 'shards/*.tar'} over img2dataset-style WebDataset shards: one row per sample. */
class WebDatasetCaptionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Two shards: a corrupt image in the first, a sample without an image in the second. */
    private Path shards() throws IOException {
        Path folder = TestShards.img2dataset(tmp.resolve("shards"), 0, 0);
        byte[] jpg = Requests.image(16, 16, "jpg", 9);
        try (TestShards out = TestShards.create(folder.resolve("00000.tar"))) {
            out.sample("000000000", 0).sample("000000001", Arrays.copyOf(jpg, jpg.length / 3)).sample("000000002", 2);
        }
        try (TestShards out = TestShards.create(folder.resolve("00001.tar"))) {
            out.sample("000000003", 3)
                    .member("000000004.txt", TestShards.text("its download failed"))
                    .sample("000000005", 5);
        }
        Files.write(folder.resolve("00000.parquet"), new byte[] {'P', 'A', 'R', '1'});
        return folder;
    }

    @Test
    void tarShardsArePlannedSampleBySampleUnlessImagesAreAskedFor() throws IOException {
        Path folder = shards();
        List<String> inputs = List.of(folder + "/*.tar");
        InputPlan auto = InputPlan.of(inputs, 2, 1 << 20, "image", InputFormat.AUTO);
        assertThat(auto.splits()).extracting(InputSplit::kind)
                .containsExactly(InputSplit.Kind.WEBDATASET, InputSplit.Kind.WEBDATASET);
        assertThat(auto.total()).isEqualTo(6);
        InputPlan images = InputPlan.of(inputs, 2, 1 << 20, "image", InputFormat.IMAGES);
        assertThat(images.splits()).extracting(InputSplit::kind)
                .containsExactly(InputSplit.Kind.TAR, InputSplit.Kind.TAR);
        assertThat(images.total()).isEqualTo(3 * 3 + 2 * 3 + 1);   // every member is a row

        CaptionSettings flagged = CaptionSettings.from(CaptionArguments.ARGUMENTS.parse(java.util.Map.of(),
                "--input", folder + "/*.tar", "--output", tmp.resolve("out").toString(), "--input-format", "images"));
        assertThat(flagged.inputFormat()).isEqualTo(InputFormat.IMAGES);
        assertThat(CaptionSettings.from(CaptionArguments.ARGUMENTS.parse(java.util.Map.of(), "--input", "x",
                "--output", "y")).inputFormat()).isEqualTo(InputFormat.AUTO);
    }

    @Test
    @Tag("slow")
    void everySampleGetsOneRowInShardOrderWithItsTextMembers() throws Exception {
        Path folder = shards();
        Path out = tmp.resolve("out");
        Configuration config = new Configuration();
        config.set(CaptionOptions.INPUTS, List.of(folder + "/*.tar"));
        config.set(CaptionOptions.OUTPUT, out.toString());
        config.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(20));
        config.set(JobOptions.PARALLELISM, 2);
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        config.set(JobOptions.RESTART_ATTEMPTS, 0);

        CaptionJob.Result result = CaptionJob.run(config, EchoAnnotatorFactory.fast("caption-wds"),
                new BoundedJobRunner(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                        false, Duration.ofMillis(500), "images"),
                BoundedJobRunner::localEnvironment);

        assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        String first = folder + "/00000.tar!/";
        String second = folder + "/00001.tar!/";
        assertThat(rows).extracting(r -> r.get("image").asText()).containsExactly(first + "000000000.jpg",
                first + "000000001.jpg", first + "000000002.jpg", second + "000000003.jpg", second + "000000004",
                second + "000000005.jpg");
        JsonNode ok = rows.get(0);
        assertThat(ok.get("text").asText()).isEqualTo("echo: A short image description:");
        assertThat(ok.get("sample").get("key").asText()).isEqualTo("000000000");
        assertThat(ok.get("sample").get("txt").asText()).isEqualTo("a photo number 000000000");
        assertThat(ok.get("sample").get("json").get("url").asText()).isEqualTo("https://example.com/000000000.jpg");
        assertThat(rows.get(1).get("error").get("code").asText()).isEqualTo("IMAGE_CORRUPT");
        assertThat(rows.get(1).get("sample").get("key").asText()).isEqualTo("000000001");
        assertThat(rows.get(4).get("error").get("code").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(rows.get(4).get("error").get("message").asText()).contains("has no image member");
        assertThat(rows.get(4).get("sample").get("txt").asText()).isEqualTo("its download failed");
        for (int i : new int[] {2, 3, 5}) {
            assertThat(rows.get(i).has("error")).as(rows.get(i).toString()).isFalse();
        }
        assertThat(result.summary().progress().ok()).isEqualTo(4);

        try (TableReader parquet = Tables.open(out.resolve("results.parquet"))) {
            TableRow row = parquet.read();
            assertThat(parquet.schema().names()).endsWith("sample");
            assertThat(JSON.readTree((String) row.get(parquet.schema(), "sample")).get("txt").asText())
                    .isEqualTo("a photo number 000000000");
        }
    }
}
