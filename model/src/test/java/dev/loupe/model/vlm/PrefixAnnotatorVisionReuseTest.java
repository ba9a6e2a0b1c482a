package dev.loupe.model.vlm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several prompts on one image through the whole annotator (the tiny random InstructBLIP-Vicuna package): a
 * caption, two questions and a ranking, with different generation settings, cost one vision pass in one batch; the
 * cache makes it one across batches and disabling it makes it one per batch; results equal each row run alone.
 */
class PrefixAnnotatorVisionReuseTest {
    @TempDir
    static Path tmp;
    static Path pkg;
    static byte[] png;

    @BeforeAll
    static void convert() throws Exception {
        pkg = tmp.resolve("pkg");
        Models.convert(HfFixture.VICUNA.checkpoint(), pkg);
        png = Files.readAllBytes(HfFixture.image("img_100x57.png"));
    }

    /** The four requests of one image, each with its own preprocessed copy (as separate requests have). */
    private static List<AnnotationInput> fourPrompts(ImagePreprocessor preprocessor, String tag) throws Exception {
        List<AnnotationInput> rows = new ArrayList<>();
        rows.add(new AnnotationInput(tag + "caption", preprocessor.preprocess(png), Prompts.CAPTION_TEMPLATE,
                Task.CAPTION, List.of(), GenerationConfig.greedy(8)));
        rows.add(new AnnotationInput(tag + "color", preprocessor.preprocess(png), Prompts.question("What color is it?"),
                Task.VQA, List.of(), GenerationConfig.greedy(4)));
        rows.add(new AnnotationInput(tag + "count", preprocessor.preprocess(png),
                Prompts.question("How many animals are there in the picture?"), Task.VQA, List.of(),
                GenerationConfig.greedy(4)));
        rows.add(new AnnotationInput(tag + "kind", preprocessor.preprocess(png), Prompts.question("What is it?"),
                Task.RANK, List.of("cat", "dog", "a drawing"), GenerationConfig.GREEDY));
        return rows;
    }

    private static AnnotatorFactory factory(long cacheBytes) throws Exception {
        return Models.open(pkg, RuntimeOptions.cpu(1).withVisionCacheBytes(cacheBytes));
    }

    private static VisionFeatureStats delta(VisionFeatureStats after, VisionFeatureStats before) {
        return new VisionFeatureStats(after.imagesEncoded() - before.imagesEncoded(),
                after.duplicateRows() - before.duplicateRows(), after.cacheHits() - before.cacheHits(),
                after.cacheMisses() - before.cacheMisses(), after.cacheEntries(), after.cacheBytes(),
                after.cacheCapacityBytes());
    }

    /**
     * Same tokens and texts; scores within {@code tolerance} (0: bit-identical). The language model's own batch
     * invariance is to 1e-5 in the score (InstructBlipAnnotatorTest), the image side's is exact
     * (ImageEncoderFeatureReuseTest).
     */
    private static void assertSameResults(List<AnnotationOutcome> actual, List<AnnotationOutcome> expected,
                                          double tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < actual.size(); i++) {
            assertThat(actual.get(i).isSuccess()).as("%s", actual.get(i)).isTrue();
            Annotation a = actual.get(i).annotation();
            Annotation e = expected.get(i).annotation();
            assertThat(a.tokenIds()).as("row %d", i).containsExactly(e.tokenIds());
            assertThat(a.text()).isEqualTo(e.text());
            assertThat(a.score()).as("score of row %d", i).isCloseTo(e.score(), within(tolerance));
            assertThat(a.candidates()).hasSameSizeAs(e.candidates());
            for (int c = 0; c < a.candidates().size(); c++) {
                assertThat(a.candidates().get(c).text()).isEqualTo(e.candidates().get(c).text());
                assertThat(a.candidates().get(c).score()).isCloseTo(e.candidates().get(c).score(), within(tolerance));
            }
        }
    }

    @Test
    void fourPromptsOnOneImageInOneBatchEncodeItOnceAndMatchEachRowAlone() throws Exception {
        AnnotatorFactory factory = factory(0);
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            List<AnnotationInput> rows = fourPrompts(preprocessor, "");
            VisionFeatureStats before = annotator.visionStats();
            List<AnnotationOutcome> together = annotator.annotate(rows);
            VisionFeatureStats batch = delta(annotator.visionStats(), before);
            assertThat(batch.imagesEncoded()).isEqualTo(1);
            assertThat(batch.duplicateRows()).isEqualTo(3);

            List<AnnotationOutcome> alone = new ArrayList<>();
            for (AnnotationInput row : rows) {
                alone.addAll(annotator.annotate(List.of(row)));
            }
            assertThat(delta(annotator.visionStats(), before).imagesEncoded()).isEqualTo(1 + rows.size());
            assertSameResults(together, alone, 1e-5);
        }
    }

    @Test
    void theCacheEncodesAnImageOnceAcrossBatchesAndZeroOncePerBatch() throws Exception {
        List<List<AnnotationOutcome>> results = new ArrayList<>();
        for (long cacheBytes : new long[] {RuntimeOptions.DEFAULT_VISION_CACHE_BYTES, 0}) {
            AnnotatorFactory factory = factory(cacheBytes);
            ImagePreprocessor preprocessor = factory.createPreprocessor();
            try (BatchAnnotator annotator = factory.createAnnotator()) {
                List<AnnotationInput> rows = fourPrompts(preprocessor, "");
                VisionFeatureStats before = annotator.visionStats();
                List<AnnotationOutcome> outcomes = new ArrayList<>(annotator.annotate(rows.subList(0, 2)));
                outcomes.addAll(annotator.annotate(rows.subList(2, 4)));
                VisionFeatureStats run = delta(annotator.visionStats(), before);
                assertThat(run.imagesEncoded()).as("cache of %d bytes", cacheBytes).isEqualTo(cacheBytes > 0 ? 1 : 2);
                assertThat(run.cacheHits()).isEqualTo(cacheBytes > 0 ? 1 : 0);
                results.add(outcomes);
            }
        }
        assertSameResults(results.get(0), results.get(1), 0);   // same batches: bit-identical
    }
}
