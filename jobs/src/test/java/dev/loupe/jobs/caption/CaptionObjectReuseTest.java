package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.JobOptions;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.bounded.BoundedJobRunner;
import dev.loupe.jobs.bounded.JobSummary;
import dev.loupe.jobs.testing.PixelDigestAnnotatorFactory;
import dev.loupe.model.api.Prompts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caption job with object reuse ({@code loupe.object-reuse}) on and off: the tensors reach the model by reference
 * only when it is on, and each image's result is computed from its own pixels either way (distinct images in batches
 * of four on two subtasks, recycled pixel arrays, thumbnails on their side output), the two runs' results equal.
 */
class CaptionObjectReuseTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int IMAGES = 12;

    @TempDir
    Path tmp;

    @Test
    void eachImagesResultIsItsOwnWithObjectReuseOnAndTheSameAsWithItOff() throws Exception {
        Path photos = Files.createDirectories(tmp.resolve("photos"));
        Map<String, String> expected = new TreeMap<>();
        for (int i = 0; i < IMAGES; i++) {
            String name = String.format("img-%02d.png", i);
            byte[] png = CaptionInputs.png(100 + i);
            Files.write(photos.resolve(name), png);
            expected.put(name, PixelDigestAnnotatorFactory.text(png, Prompts.CAPTION_TEMPLATE));
        }
        assertThat(expected.values()).doesNotHaveDuplicates();

        String on = "caption-reuse-on-" + UUID.randomUUID();
        String off = "caption-reuse-off-" + UUID.randomUUID();
        Map<String, String> withReuse = caption(photos, tmp.resolve("on"), true, on);
        Map<String, String> withoutReuse = caption(photos, tmp.resolve("off"), false, off);

        assertThat(withReuse).isEqualTo(expected);
        assertThat(withoutReuse).isEqualTo(withReuse);
        assertThat(PixelDigestAnnotatorFactory.byReference(on)).isEqualTo(IMAGES);
        assertThat(PixelDigestAnnotatorFactory.copies(on)).isZero();
        assertThat(PixelDigestAnnotatorFactory.byReference(off)).isZero();
        assertThat(PixelDigestAnnotatorFactory.copies(off)).isEqualTo(IMAGES);
    }

    /** Runs the caption job (no Kryo allowed) and returns each image's text by file name. */
    private static Map<String, String> caption(Path photos, Path out, boolean objectReuse, String run)
            throws Exception {
        Configuration config = new Configuration();
        config.set(CaptionOptions.INPUTS, java.util.List.of(photos.toString()));
        config.set(CaptionOptions.OUTPUT, out.toString());
        config.set(CaptionOptions.FILES_PER_SPLIT, 2);
        config.set(LoupeOptions.FETCH_MAX_BYTES, MemorySize.parse(CaptionInputs.MAX_BYTES));
        config.set(LoupeOptions.BATCH_MAX_SIZE, 4);
        config.set(LoupeOptions.BATCH_MAX_DELAY, Duration.ofMillis(50));
        config.set(JobOptions.PARALLELISM, 2);
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        config.set(JobOptions.RESTART_ATTEMPTS, 0);
        config.set(JobOptions.OBJECT_REUSE, objectReuse);
        BoundedJobRunner runner = new BoundedJobRunner(
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false,
                Duration.ofMillis(500), "images");

        CaptionJob.Result result = CaptionJob.run(config, new PixelDigestAnnotatorFactory(run), runner, env -> {
            assertThat(env.get(PipelineOptions.OBJECT_REUSE)).isEqualTo(objectReuse);
            env.set(PipelineOptions.GENERIC_TYPES, false);
            return BoundedJobRunner.localEnvironment(env);
        });

        assertThat(result.summary().status()).isEqualTo(JobSummary.Status.FINISHED);
        Map<String, String> texts = new TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            JsonNode row = JSON.readTree(line);
            assertThat(row.has("error")).as(line).isFalse();
            String image = Path.of(row.get("image").asText()).getFileName().toString();
            assertThat(texts.put(image, row.get("text").asText())).as("one row for " + image).isNull();
        }
        return texts;
    }
}
