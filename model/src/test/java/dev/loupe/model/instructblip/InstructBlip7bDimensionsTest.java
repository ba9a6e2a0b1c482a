package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime at InstructBLIP-Vicuna-7B's real widths (one vision layer, two Q-Former layers, one LLaMA layer,
 * random weights): a sharded float16 checkpoint converts with {@link Models#convert} and greedy generation on real
 * PNGs gives finite scores, ids inside the vocabulary and the same result per row alone and in a batch of two; its fp16
 * package is half the size and generates on CPU.
 */
@Tag("slow")
class InstructBlip7bDimensionsTest {

    @Test
    void convertsAndGeneratesAtRealWidths(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.getFileStore(tmp).getUsableSpace() > 6L << 30, "needs 6 GB of free disk");
        Annotation aloneA;
        Path ckpt = tmp.resolve("checkpoint");
        Path pkg = tmp.resolve("package");
        long t0 = System.nanoTime();
        long bytes = InstructBlip7bCheckpoint.write(ckpt, 1, 2, 1, DType.F16, 500_000_000L);
        long t1 = System.nanoTime();
        Manifest m = Models.convert(ckpt, pkg);
        long t2 = System.nanoTime();
        System.out.printf("7B-width checkpoint %.2f GB F16 written in %.1f s, converted in %.1f s%n", bytes / 1e9,
                (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        try (Stream<Path> s = Files.list(pkg)) {
            for (Path f : s.filter(f -> f.getFileName().toString().contains(".onnx")).sorted().toList()) {
                System.out.printf("  %-22s %,d bytes%n", f.getFileName(), Files.size(f));
            }
        }
        assertThat(m.dimensions().path("llm_hidden").asInt()).isEqualTo(4096);
        assertThat(m.dimensions().path("vocab_size").asInt()).isEqualTo(InstructBlip7bCheckpoint.VOCAB);
        assertThat(m.dimensions().path("num_query_tokens").asInt()).isEqualTo(32);
        assertThat(m.specialTokens().image()).isEqualTo(385);

        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.defaults().withThreads(1));
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        Path images = HfFixture.VICUNA.dir().resolve("../images");
        GenerationConfig gen = GenerationConfig.greedy(4);
        AnnotationInput a = new AnnotationInput("a", preprocessor.preprocess(
                Files.readAllBytes(images.resolve("img_64x64.png"))), "What is unusual about this image?", Task.VQA,
                List.of(), gen);
        AnnotationInput b = new AnnotationInput("b", preprocessor.preprocess(
                Files.readAllBytes(images.resolve("img_100x57.png"))), "Describe the picture.", Task.CAPTION,
                List.of(), gen);
        assertThat(a.pixels().height()).isEqualTo(224);

        try (BatchAnnotator annotator = factory.createAnnotator()) {
            long t3 = System.nanoTime();
            aloneA = success(annotator.annotate(List.of(a)).get(0));
            long t4 = System.nanoTime();
            Annotation aloneB = success(annotator.annotate(List.of(b)).get(0));
            List<AnnotationOutcome> both = annotator.annotate(List.of(b, a));
            System.out.printf("alone: %s %.5f / %s %.5f (first row %.1f s)%n", Arrays.toString(aloneA.tokenIds()),
                    aloneA.score(), Arrays.toString(aloneB.tokenIds()), aloneB.score(), (t4 - t3) / 1e9);
            for (Annotation x : List.of(aloneA, aloneB)) {
                assertThat(x.tokenIds()).isNotEmpty();
                assertThat(Arrays.stream(x.tokenIds()).boxed().toList())
                        .allSatisfy(id -> assertThat(id).isBetween(0, InstructBlip7bCheckpoint.VOCAB - 1));
                assertThat(Double.isFinite(x.score())).isTrue();
            }
            Annotation batchB = success(both.get(0));
            Annotation batchA = success(both.get(1));
            assertThat(batchA.tokenIds()).containsExactly(aloneA.tokenIds());
            assertThat(batchB.tokenIds()).containsExactly(aloneB.tokenIds());
            assertThat(batchA.score()).isCloseTo(aloneA.score(), within(1e-4));
            assertThat(batchB.score()).isCloseTo(aloneB.score(), within(1e-4));
        }

        // the same checkpoint as an fp16 package: half the bytes, loads and generates on CPU
        Path pkg16 = tmp.resolve("package16");
        long t5 = System.nanoTime();
        Models.convert(ckpt, pkg16, Precision.FP16);
        System.out.printf("fp16 package converted in %.1f s: %,d bytes of graphs vs %,d for fp32%n",
                (System.nanoTime() - t5) / 1e9, onnxBytes(pkg16), onnxBytes(pkg));
        assertThat((double) onnxBytes(pkg16)).isLessThan(0.52 * onnxBytes(pkg));
        AnnotatorFactory factory16 = Models.open(pkg16, RuntimeOptions.defaults().withThreads(1));
        try (BatchAnnotator annotator = factory16.createAnnotator()) {
            Annotation half = success(annotator.annotate(List.of(a)).get(0));
            System.out.printf("fp16: %s %.5f (fp32 %s %.5f)%n", Arrays.toString(half.tokenIds()), half.score(),
                    Arrays.toString(aloneA.tokenIds()), aloneA.score());
            assertThat(Double.isFinite(half.score())).isTrue();
            assertThat(half.tokenIds()).isNotEmpty();
            assertThat(half.tokenIds()[0]).isEqualTo(aloneA.tokenIds()[0]);
        }
    }

    private static long onnxBytes(Path pkg) throws Exception {
        try (Stream<Path> s = Files.list(pkg)) {
            return s.filter(p -> p.getFileName().toString().contains(".onnx")).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static Annotation success(AnnotationOutcome o) {
        assertThat(o.isSuccess()).as("%s", o).isTrue();
        return o.annotation();
    }
}
