package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.jobs.testing.Requests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe caption} as a user runs it, end to end with the real tiny demo model. */
@Tag("slow")
class CaptionCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void captionsAFolderAndAZipWithTheDemoModelAndSummarises() throws Exception {
        Path photos = tmp.resolve("photos");
        Files.createDirectories(photos);
        Files.write(photos.resolve("a.png"), Requests.image(40, 30, "png", 1));
        Files.write(photos.resolve("b.jpg"), Requests.image(24, 24, "jpg", 2));
        Files.writeString(photos.resolve("c.jpg"), "<b>not an image</b>");
        Path zip = tmp.resolve("more.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("d.png"));
            out.write(Requests.image(32, 32, "png", 3));
            out.closeEntry();
        }
        Path out = tmp.resolve("out");

        CliRun run = CliRun.of("caption", "--input", photos.toString(), "--input", zip.toString(),
                "--output", out.toString(), "--max-new-tokens", "4", "--batch-size", "2", "--checkpoint-interval", "1s");

        assertThat(run.status()).as(run.err()).isEqualTo(1);   // one image failed
        assertThat(run.err()).contains("no --model given", "its text is meaningless");
        assertThat(run.out()).contains("loupe-caption finished in", "4 of 4 images: 3 ok, 1 failed",
                "IMAGE_UNSUPPORTED_FORMAT: 1", "contact sheet: " + out.resolve("index.html").toUri());
        // where the time went: every stage, the job's and the writing of the outputs after it
        assertThat(run.out()).containsPattern("mean batch [0-9.]+; per result: read/fetch [0-9.]+ ms, decode\\+resize "
                + "[0-9.]+ ms, waiting for a batch [0-9.]+ ms, inference [0-9.]+ ms")
                .containsPattern("writing outputs: [0-9.]+ s");
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        assertThat(rows).extracting(r -> r.get("image").asText()).containsExactly(photos + "/a.png",
                photos + "/b.jpg", photos + "/c.jpg", zip + "!/d.png");
        for (JsonNode row : List.of(rows.get(0), rows.get(1), rows.get(3))) {
            assertThat(row.get("task").asText()).isEqualTo("caption");
            assertThat(row.get("prompt").asText()).isEqualTo("A short image description:");
            assertThat(row.has("text")).isTrue();
            assertThat(row.get("score").isNumber()).isTrue();
            assertThat(row.get("model").asText()).isNotBlank();
        }
        assertThat(rows.get(2).get("error").get("code").asText()).isEqualTo("IMAGE_UNSUPPORTED_FORMAT");
        assertThat(out.resolve("results.parquet")).isNotEmptyFile();
        assertThat(Files.readString(out.resolve("index.html"))).contains("IMAGE_UNSUPPORTED_FORMAT");
    }

    @Test
    void badOptionsAreOneClearLineAndNoJob() {
        CliRun missing = CliRun.of("caption", "--input", tmp.resolve("nope").toString(), "--output",
                tmp.resolve("out").toString(), "--model", tmp.toString());
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains("loupe caption:");

        CliRun noInput = CliRun.of("caption", "--output", tmp.resolve("out").toString());
        assertThat(noInput.status()).isEqualTo(2);
        assertThat(noInput.err()).contains("--input");
    }
}
