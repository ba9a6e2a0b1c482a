package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe caption} with default options on the Parquet files the Hugging Face {@code datasets} library wrote
 * ({@code fixtures/hf-datasets}): the {@code Image} column's embedded bytes and its paths are both captioned, one row
 * per table row in order.
 */
class CaptionHuggingFaceDatasetTest {

    private static final Path FIXTURES = Path.of(System.getProperty("loupe.fixtures"), "hf-datasets");

    @TempDir
    Path tmp;

    @Test
    void captionsEveryRowOfADatasetWithEmbeddedImagesAndOneWithImagePaths() throws Exception {
        Path embedded = FIXTURES.resolve("embedded.parquet");
        Path paths = FIXTURES.resolve("paths.parquet");
        Path out = tmp.resolve("out");
        Configuration config = new Configuration();
        config.set(CaptionOptions.INPUTS, List.of(embedded.toString(), paths.toString()));
        config.set(CaptionOptions.OUTPUT, out.toString());
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        BoundedJobRunner runner = new BoundedJobRunner(new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8), false, Duration.ofMillis(500), "images");

        CaptionJob.Result result = CaptionJob.run(config, EchoAnnotatorFactory.fast("caption-hf"), runner,
                BoundedJobRunner::localEnvironment);

        assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            rows.add(json.readTree(line));
        }
        assertThat(rows).extracting(r -> r.get("image").asText()).containsExactly(
                embedded + "#1", embedded + "#2", embedded + "#3", embedded + "#4",
                "images/red.png", "images/green.jpg", "images/blue.png", "images/red.png");
        assertThat(rows).allSatisfy(row -> {
            assertThat(row.has("error")).as(row.toString()).isFalse();
            assertThat(row.get("text").asText()).isEqualTo("echo: A short image description:");
        });
    }
}
