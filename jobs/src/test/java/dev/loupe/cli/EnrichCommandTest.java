package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.jobs.enrich.TestImages;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.Tables;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe enrich} as a user runs it, with the real (tiny, random-weight) InstructBLIP fixture model. */
@Tag("slow")
class EnrichCommandTest {

    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @TempDir
    Path dir;

    @Test
    void enrichesACsvTableWithCaptionsAnswersAndRankings() throws Exception {
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        List<String> good = new ArrayList<>();
        try (var files = Files.list(FIXTURE.resolve("images"))) {
            for (Path image : files.sorted().toList()) {
                Files.copy(image, images.resolve(image.getFileName()));
                good.add("images/" + image.getFileName());
            }
        }
        TestImages.corrupt(images.resolve("broken.png"));
        Path input = dir.resolve("photos.csv");
        StringBuilder csv = new StringBuilder("id,file,note\r\n");
        for (int i = 0; i < good.size(); i++) {
            csv.append(i).append(',').append(good.get(i)).append(",\"fine, really\"\r\n");
        }
        csv.append("90,images/missing.jpg,gone\r\n91,images/broken.png,broken\r\n92,,empty\r\n");
        Files.writeString(input, csv);
        Path output = dir.resolve("photos.enriched.jsonl");

        CliRun r = CliRun.of("enrich", "--model", FIXTURE.resolve("instructblip-vicuna/checkpoint").toString(),
                "--input", input.toString(), "--output", output.toString(), "--image-column", "file",
                "--question", "answer_color=What color is it?", "--candidates", "kind=cat,dog",
                "--candidate-scores", "--max-new-tokens", "4", "--checkpoint-interval", "1s", "--batch-size", "4");

        assertThat(r.status()).as("some rows failed: " + r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("loupe-enrich finished").contains("wrote " + (good.size() + 3) + " rows");
        List<TableRow> rows = new ArrayList<>();
        TableSchema schema;
        try (TableReader reader = Tables.open(output)) {
            schema = reader.schema();
            for (TableRow row; (row = reader.read()) != null; ) {
                rows.add(row);
            }
        }
        assertThat(schema.names()).containsExactly("id", "file", "note", "caption", "answer_color", "kind",
                "kind_scores", "error");
        assertThat(rows).hasSize(good.size() + 3);
        for (int i = 0; i < good.size(); i++) {
            TableRow row = rows.get(i);
            assertThat(row.get(0)).isEqualTo(String.valueOf(i));
            assertThat(row.get(2)).isEqualTo("fine, really");
            assertThat(row.get(3)).as("caption of %s", row).isNotNull();
            assertThat(row.get(4)).as("answer of %s", row).isNotNull();
            assertThat(row.get(5)).isIn("cat", "dog");
            assertThat((String) row.get(6)).contains("\"cat\":").contains("\"dog\":");
            assertThat(row.get(7)).isNull();
        }
        int bad = good.size();
        assertThat((String) rows.get(bad).get(7)).startsWith("IMAGE_NOT_FOUND: ");
        assertThat((String) rows.get(bad + 1).get(7)).matches("IMAGE_(CORRUPT|UNSUPPORTED_FORMAT): .*");
        assertThat((String) rows.get(bad + 2).get(7)).startsWith("INVALID_REQUEST: ");
        assertThat(rows.get(bad + 2).get(0)).isEqualTo("92");
    }

    @Test
    void badOptionsExitWithStatus2() throws Exception {
        Path input = dir.resolve("t.csv");
        Files.writeString(input, "file\r\na.png\r\n");
        CliRun r = CliRun.of("enrich", "--model", dir.toString(), "--input", input.toString(),
                "--output", dir.resolve("o.csv").toString(), "--image-column", "file", "--no-caption");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("loupe enrich: nothing to add");
    }
}
