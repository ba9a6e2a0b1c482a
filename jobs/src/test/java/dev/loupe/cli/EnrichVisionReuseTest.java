package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import dev.loupe.model.Models;
import dev.loupe.model.SharedRuntimes;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.VisionFeatureStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe enrich} with a caption and three questions per image runs the vision encoder once per image: the
 * four requests of an image, in whatever batches and subtasks they land (parallelism 2 here), share one loaded
 * runtime in the process, whose image features are reused. Counted on that runtime, which the test holds open
 * across the run (the same model, options and so the same shared runtime as the job's subtasks).
 */
@Tag("slow")
class EnrichVisionReuseTest {

    private static final Path FIXTURE = Path.of(System.getProperty("loupe.fixtures"), "hf-reference");

    @TempDir
    Path dir;

    @Test
    void aCaptionAndThreeQuestionsPerImageEncodeEachImageOnce() throws Exception {
        Path pkg = dir.resolve("pkg");
        Models.convert(FIXTURE.resolve("instructblip-vicuna/checkpoint"), pkg);
        Path images = Files.createDirectories(dir.resolve("images"));
        List<String> files = new ArrayList<>();
        try (var list = Files.list(FIXTURE.resolve("images"))) {
            for (Path image : list.sorted().toList()) {
                Files.copy(image, images.resolve(image.getFileName()));
                files.add("images/" + image.getFileName());
            }
        }
        // the first image again under another name: another reference, the same pixels
        Files.copy(FIXTURE.resolve("images").resolve(Path.of(files.get(0)).getFileName()), images.resolve("copy.png"));
        files.add("images/copy.png");
        int distinctImages = files.size() - 1;
        StringBuilder csv = new StringBuilder("file\r\n");
        files.forEach(f -> csv.append(f).append("\r\n"));
        Path input = Files.writeString(dir.resolve("photos.csv"), csv);
        Path output = dir.resolve("photos.enriched.jsonl");
        String[] args = {"enrich", "--model", pkg.toString(), "--input", input.toString(), "--output",
            output.toString(), "--image-column", "file", "--question", "What color is it?",
            "--question", "Is there a person?", "--question", "How many animals are there?", "--max-new-tokens", "3",
            "--batch-size", "3", "--parallelism", "2", "--checkpoint-interval", "1s", "-D", "loupe.runtime.threads=1"};

        var config = EnrichCommand.parse(java.util.Arrays.copyOfRange(args, 1, args.length)).toConfiguration();
        try (BatchAnnotator held = ModelRuntimes.resolve(pkg, config).createAnnotator()) {
            long loads = SharedRuntimes.loadCount();
            VisionFeatureStats before = held.visionStats();

            CliRun r = CliRun.of(args);

            assertThat(r.status()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains(files.size() * 4 + " annotations to compute");
            assertThat(SharedRuntimes.loadCount()).as("the job's subtasks used the runtime the test holds")
                    .isEqualTo(loads);
            VisionFeatureStats after = held.visionStats();
            assertThat(after.imagesEncoded() - before.imagesEncoded()).isEqualTo(distinctImages);
            assertThat(after.duplicateRows() - before.duplicateRows() + after.cacheHits() - before.cacheHits())
                    .as("requests that reused an image's features").isEqualTo(files.size() * 4L - distinctImages);
        }
        try (TableReader reader = Tables.open(output)) {
            int rows = 0;
            for (TableRow row; (row = reader.read()) != null; rows++) {
                for (int c = 1; c <= 4; c++) {
                    assertThat(row.get(c)).as("column %d of %s", c, row).isNotNull();
                }
            }
            assertThat(rows).isEqualTo(files.size());
        }
    }
}
