package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.config.JobOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The caption job on a MiniCluster with the fast echo model: inputs of every kind, failures as rows, resuming. */
@Tag("slow")
class CaptionJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static Configuration config(List<String> inputs, Path out, int parallelism) {
        Configuration c = new Configuration();
        c.set(CaptionOptions.INPUTS, inputs);
        c.set(CaptionOptions.OUTPUT, out.toString());
        c.set(CaptionOptions.FILES_PER_SPLIT, 2);
        c.set(LoupeOptions.FETCH_MAX_BYTES, MemorySize.parse(CaptionInputs.MAX_BYTES));
        c.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(20));
        c.set(JobOptions.PARALLELISM, parallelism);
        c.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        c.set(JobOptions.RESTART_ATTEMPTS, 0);
        return c;
    }

    private static BoundedJobRunner quietRunner() {
        return new BoundedJobRunner(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false,
                Duration.ofMillis(500), "images");
    }

    @Test
    void everyImageOfFoldersArchivesAndManifestsGetsOneRowInInputOrderFailuresIncluded() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp.resolve("in"));
        Path out = tmp.resolve("out");

        CaptionJob.Result result = CaptionJob.run(config(List.of(in.inputArgs()), out, 2),
                EchoAnnotatorFactory.fast("caption-all"), quietRunner(), BoundedJobRunner::localEnvironment);

        assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        Map<String, String> outcomes = new LinkedHashMap<>();
        for (JsonNode row : rows) {
            String before = outcomes.put(row.get("image").asText(),
                    row.has("error") ? row.get("error").get("code").asText() : CaptionInputs.OK);
            assertThat(before).as("one row per image: " + row).isNull();
            if (row.has("error")) {
                assertThat(row.get("error").get("message").asText()).isNotBlank();
            } else {
                assertThat(row.get("text").asText()).isEqualTo("echo: A short image description:");
                assertThat(row.get("task").asText()).isEqualTo("caption");
                assertThat(row.get("model").asText()).isEqualTo("echo@test");
            }
        }
        assertThat(outcomes).containsExactlyEntriesOf(in.expected);

        List<String> parquetImages = new ArrayList<>();
        try (TableReader parquet = Tables.open(out.resolve("results.parquet"))) {
            for (TableRow row; (row = parquet.read()) != null; ) {
                parquetImages.add((String) row.get(parquet.schema(), "image"));
            }
        }
        assertThat(parquetImages).containsExactlyElementsOf(in.expected.keySet());

        long ok = in.expected.values().stream().filter(CaptionInputs.OK::equals).count();
        assertThat(result.summary().progress().ok()).isEqualTo(ok);
        assertThat(result.summary().progress().done()).isEqualTo(in.expected.size());
        assertThat(result.summary().progress().failuresByCode()).containsEntry("IMAGE_TOO_LARGE", 1L)
                .containsEntry("IMAGE_UNSUPPORTED_FORMAT", 2L);
        String html = Files.readString(out.resolve("index.html"));
        assertThat(html.split("<figure class=\"tile ", -1)).hasSize(in.expected.size() + 1);
        assertThat(html.split("<figure class=\"tile failed", -1)).hasSize(in.expected.size() - (int) ok + 1);
        try (var thumbs = Files.list(out.resolve("thumbs"))) {
            assertThat(thumbs.count()).isGreaterThanOrEqualTo(ok);
        }
        assertThat(out.resolve(".loupe-caption")).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(Scheduling.class)
    void aRunCancelledAfterACheckpointResumesWithTheSameCommandAndWritesEveryRowOnce(Scheduling scheduling)
            throws Exception {
        Path photos = tmp.resolve("many");
        Files.createDirectories(photos);
        for (int i = 0; i < 40; i++) {
            Files.write(photos.resolve(String.format("img-%02d.png", i)), CaptionInputs.png(i));
        }
        Path out = tmp.resolve("out");
        Configuration config = config(List.of(photos.toString()), out, 1);
        config.set(LoupeOptions.BATCH_MAX_SIZE, 2);
        config.set(LoupeOptions.BATCH_SCHEDULING, scheduling);
        OutputLayout layout = new OutputLayout(out.toAbsolutePath());

        CaptionJob.Result first = CaptionJob.run(config,
                EchoAnnotatorFactory.slow("caption-resume-1-" + scheduling, 100), quietRunner(),
                BoundedJobRunner::localEnvironment, client -> {
                    Thread canceller = new Thread(() -> {
                        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                        while (System.nanoTime() < deadline && !hasCommittedRows(layout)) {
                            sleep(50);
                        }
                        client.cancel();
                    }, "test-canceller");
                    canceller.setDaemon(true);
                    canceller.start();
                });

        assertThat(first.summary().status()).isEqualTo(JobSummary.Status.CANCELED);
        assertThat(out.resolve("results.jsonl")).doesNotExist();
        assertThat(layout.latestCheckpoint()).isPresent();

        CaptionJob.Result second = CaptionJob.run(config, EchoAnnotatorFactory.fast("caption-resume-2-" + scheduling),
                quietRunner(), BoundedJobRunner::localEnvironment);

        assertThat(second.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        assertThat(second.resumed()).isTrue();
        assertThat(second.summary().progress().resumed()).isPositive();
        assertThat(second.summary().progress().done()).isEqualTo(40);
        assertThat(EchoAnnotatorFactory.received("caption-resume-2-" + scheduling)).isLessThan(40);
        List<String> images = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            images.add(JSON.readTree(line).get("image").asText());
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            expected.add(photos + String.format("/img-%02d.png", i));
        }
        assertThat(images).containsExactlyElementsOf(expected);
    }

    private static boolean hasCommittedRows(OutputLayout layout) {
        try {
            return !CaptionOutputs.committedFiles(layout.parts().resolve("jsonl")).isEmpty();
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
