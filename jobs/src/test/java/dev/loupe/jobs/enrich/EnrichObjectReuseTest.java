package dev.loupe.jobs.enrich;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.ColumnType;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;
import dev.loupe.jobs.testing.PixelDigestAnnotatorFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The enrich job with object reuse on (its default) and off: each image's three requests (a caption and two
 * questions, sharing the image's bytes) are answered from that image's own pixels with their own prompts, the two
 * runs' tables are equal, and only with object reuse do the tensors reach the model by reference.
 */
class EnrichObjectReuseTest {
    private static final int IMAGES = 6;
    private static final List<String> QUESTIONS = List.of("What is it?", "Which colour is it?");

    @TempDir
    Path dir;

    @Test
    void eachRequestsAnswerIsItsOwnWithObjectReuseOnAndTheSameAsWithItOff() throws Exception {
        List<TableRow> rows = new ArrayList<>();
        List<String> pixels = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            Path image = TestImages.png(dir.resolve("img/" + i + ".png"), i + 1);
            rows.add(TableRow.of("img/" + i + ".png", (long) i));
            pixels.add(PixelDigestAnnotatorFactory.text(Files.readAllBytes(image), ""));
        }
        assertThat(pixels).doesNotHaveDuplicates();
        Path input = dir.resolve("in.jsonl");
        try (TableWriter writer = Tables.create(input,
                TableSchema.of(Column.string("image"), Column.of("n", ColumnType.LONG)))) {
            for (TableRow row : rows) {
                writer.write(row);
            }
        }

        String on = "enrich-reuse-on-" + UUID.randomUUID();
        String off = "enrich-reuse-off-" + UUID.randomUUID();
        List<List<Object>> withReuse = enrich(input, dir.resolve("on.jsonl"), true, on);
        List<List<Object>> withoutReuse = enrich(input, dir.resolve("off.jsonl"), false, off);

        assertThat(withReuse).hasSize(IMAGES);
        for (int i = 0; i < IMAGES; i++) {
            List<Object> row = withReuse.get(i);
            assertThat(row.get(0)).isEqualTo("img/" + i + ".png");
            List<Object> answers = row.subList(2, 5);   // caption, answer_1, answer_2
            String own = pixels.get(i);
            assertThat(answers).allSatisfy(a -> assertThat((String) a).startsWith(own));
            assertThat((String) answers.get(1)).contains(QUESTIONS.get(0));
            assertThat((String) answers.get(2)).contains(QUESTIONS.get(1));
            assertThat(row.get(5)).as("error column").isNull();
        }
        assertThat(withoutReuse).isEqualTo(withReuse);
        assertThat(PixelDigestAnnotatorFactory.byReference(on)).isEqualTo(3 * IMAGES);
        assertThat(PixelDigestAnnotatorFactory.copies(on)).isZero();
        assertThat(PixelDigestAnnotatorFactory.byReference(off)).isZero();
        assertThat(PixelDigestAnnotatorFactory.copies(off)).isEqualTo(3 * IMAGES);
    }

    /** Runs the enrichment (no Kryo allowed), batches of four, and returns the output table's rows. */
    private List<List<Object>> enrich(Path input, Path output, boolean objectReuse, String run) throws Exception {
        Configuration config = EnrichConfigs.userOptions(dir, input, output);
        config.set(EnrichOptions.IMAGE_COLUMN, "image");
        config.set(EnrichOptions.QUESTIONS, QUESTIONS);
        config.set(LoupeOptions.BATCH_MAX_SIZE, 4);
        config.set(JobOptions.RESTART_ATTEMPTS, 0);
        config.set(JobOptions.OBJECT_REUSE, objectReuse);
        config.set(PipelineOptions.GENERIC_TYPES, false);
        assertThat(EnrichJob.environmentConfiguration(config).get(PipelineOptions.OBJECT_REUSE)).isEqualTo(objectReuse);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        EnrichJob.Report report = EnrichJob.run(config, new PixelDigestAnnotatorFactory(run),
                new BoundedJobRunner(out, false, Duration.ofSeconds(5), "annotations"), out);

        assertThat(report.complete()).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
        List<List<Object>> rows = new ArrayList<>();
        try (TableReader reader = Tables.open(output)) {
            assertThat(reader.schema().names()).containsExactly("image", "n", "caption", "answer_1", "answer_2",
                    "error");
            for (TableRow row; (row = reader.read()) != null; ) {
                List<Object> values = new ArrayList<>();
                for (int i = 0; i < reader.schema().names().size(); i++) {
                    values.add(row.get(i));
                }
                rows.add(values);
            }
        }
        return rows;
    }
}
