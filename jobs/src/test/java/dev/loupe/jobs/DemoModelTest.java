package dev.loupe.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.tools.RandomImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code loupe run} uses without --model: generated once, then reused, and it really annotates. */
class DemoModelTest {

    @Test
    void theDemoModelIsGeneratedOnceAndAnnotates(@TempDir Path cache) throws Exception {
        Path dir = DemoModel.ensure(cache);
        long written = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
        assertThat(DemoModel.ensure(cache)).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis()).isEqualTo(written);
        assertThat(Files.size(dir.resolve("model.safetensors"))).isLessThan(10L << 20);

        RuntimeOptions options = new RuntimeOptions(RuntimeOptions.Device.CPU, 1, cache.toString());
        AnnotatorFactory factory = Models.open(dir, options);
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            var pixels = factory.createPreprocessor().preprocess(RandomImages.png(7, 40, 30));
            List<AnnotationOutcome> out = annotator.annotate(List.of(new AnnotationInput("a", pixels,
                    Prompts.CAPTION_TEMPLATE, Task.CAPTION, List.of(), GenerationConfig.greedy(4))));
            assertThat(out.get(0).isSuccess()).as("%s", out.get(0)).isTrue();
            assertThat(out.get(0).annotation().tokenIds()).isNotEmpty().hasSizeLessThanOrEqualTo(4);
        }
    }
}
