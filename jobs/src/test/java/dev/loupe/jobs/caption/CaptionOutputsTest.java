package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.flink.LoupeOptions;
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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caption finalizer's external sort: spilling many tiny runs writes the same files as sorting in one run
 * (results.parquet compared by schema and values: parquet-mr lists a column chunk's encodings in no fixed order).
 */
@Tag("slow")
class CaptionOutputsTest {
    @TempDir
    Path tmp;

    @Test
    void tinySortRunsGiveByteForByteTheOutputsOfTheDefaultRunSize() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp.resolve("in"));

        Map<String, byte[]> whole = caption(in, tmp.resolve("default"), null);
        Map<String, byte[]> spilled = caption(in, tmp.resolve("tiny"), 2);

        assertThat(whole).containsKeys("results.jsonl", "results.parquet", "index.html", "page-2.html",
                "failures.html");
        assertThat(whole.keySet().stream().filter(f -> f.startsWith("thumbs/"))).isNotEmpty();
        assertThat(whole.keySet()).as("no temporary or working files left").noneMatch(f -> f.matches("(.*/)?\\..*"));
        assertThat(spilled.keySet()).containsExactlyElementsOf(whole.keySet());
        for (String file : whole.keySet()) {
            assertThat(spilled.get(file)).as(file).isEqualTo(whole.get(file));
        }
        assertThat(new String(whole.get("results.jsonl"), StandardCharsets.UTF_8).lines())
                .hasSize(in.expected.size());
    }

    @Test
    void aSortRunSizeBelowOneIsRefusedNamingTheOption() {
        Configuration c = new Configuration();
        c.set(CaptionOptions.INPUTS, List.of("photos"));
        c.set(CaptionOptions.OUTPUT, "out");
        assertThat(CaptionSettings.from(c).sortRunRows()).isEqualTo(SortedRuns.DEFAULT_RUN_ROWS);

        c.set(CaptionOptions.SORT_RUN_ROWS, 0);
        assertThatThrownBy(() -> CaptionSettings.from(c)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("loupe.caption.sort-run-rows must be at least 1");
    }

    /** Runs the job into {@code out}; returns every file it left there by relative path. */
    private static Map<String, byte[]> caption(CaptionInputs in, Path out, Integer sortRunRows) throws Exception {
        Configuration c = new Configuration();
        c.set(CaptionOptions.INPUTS, List.of(in.inputArgs()));
        c.set(CaptionOptions.OUTPUT, out.toString());
        c.set(CaptionOptions.FILES_PER_SPLIT, 2);
        c.set(CaptionOptions.PAGE_SIZE, 3);
        if (sortRunRows != null) {
            c.set(CaptionOptions.SORT_RUN_ROWS, sortRunRows);
            assertThat(CaptionSettings.from(c).sortRunRows()).isEqualTo(sortRunRows);
        }
        c.set(LoupeOptions.FETCH_MAX_BYTES, MemorySize.parse(CaptionInputs.MAX_BYTES));
        c.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(20));
        c.set(JobOptions.PARALLELISM, 2);
        c.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        c.set(JobOptions.RESTART_ATTEMPTS, 0);
        BoundedJobRunner quiet = new BoundedJobRunner(new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8), false, Duration.ofMillis(500), "images");

        CaptionJob.Result result = CaptionJob.run(c, EchoAnnotatorFactory.fast("caption-sort-" + sortRunRows), quiet,
                BoundedJobRunner::localEnvironment);

        assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(out)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String name = out.relativize(p).toString().replace('\\', '/');
                files.put(name, name.endsWith(".parquet") ? parquetValues(p) : Files.readAllBytes(p));
            }
        }
        return files;
    }

    /** The schema and every row's values, as text. */
    static byte[] parquetValues(Path file) throws Exception {
        StringBuilder text = new StringBuilder();
        try (TableReader in = Tables.open(file)) {
            text.append(in.schema().names()).append('\n');
            for (TableRow row; (row = in.read()) != null; ) {
                for (int i = 0; i < row.size(); i++) {
                    text.append(row.get(i)).append('\t');
                }
                text.append('\n');
            }
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
