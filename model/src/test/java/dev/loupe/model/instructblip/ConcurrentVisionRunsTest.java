package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llava.LlavaConfig;
import dev.loupe.model.llava.LlavaImageEncoder;
import dev.loupe.model.llava.LlavaImageGraph;
import dev.loupe.model.llava.LlavaPackage;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An int8 package's image tower takes one image per run, and the encoders (InstructBLIP's {@link ImageEncoder},
 * {@link LlavaImageEncoder}) run a batch's images side by side on several threads ({@link ConcurrentRuns}): each
 * row's features must still be bit for bit those of the row encoded alone, one run after another.
 */
class ConcurrentVisionRunsTest {
    @TempDir
    static Path tmp;
    static Path int8;
    static List<ImageTensor> images;

    @BeforeAll
    static void convert() throws Exception {
        int8 = tmp.resolve("int8");
        Models.convert(HfFixture.VICUNA.checkpoint(), int8, Precision.INT8);
        AnnotatorFactory factory = Models.open(int8, RuntimeOptions.cpu(1));
        images = new ArrayList<>();
        try (Stream<Path> files = Files.list(HfFixture.root().resolve("images"))) {
            for (Path f : files.sorted().toList()) {
                images.add(factory.createPreprocessor().preprocess(Files.readAllBytes(f)));
            }
        }
    }

    @Test
    void imagesRunSideBySideGiveEachRowItsFeaturesAloneBitForBit() throws Exception {
        int n = 9;
        List<ImageTensor> batch = new ArrayList<>();
        long[][] ids = new long[n][];
        for (int i = 0; i < n; i++) {
            batch.add(scaled(images.get(i % images.size()), 1 + 2 * (i % 4)));
            ids[i] = new long[] {101, 5 + i, 102};
        }
        ImageEncoder.Encoded together;
        try (ImageEncoder concurrent = open("3")) {
            together = concurrent.encodeWithIntermediates(batch, ids);
            // again while another caller encodes on the same encoder: the helpers are shared, the results are not
            ImageEncoder.Encoded[] other = new ImageEncoder.Encoded[1];
            Thread t = new Thread(() -> {
                try {
                    other[0] = concurrent.encodeWithIntermediates(batch.subList(0, 5), java.util.Arrays.copyOf(ids, 5));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            ImageEncoder.Encoded again = concurrent.encodeWithIntermediates(batch, ids);
            t.join();
            for (int i = 0; i < n; i++) {
                assertThat(again.imageEmbeds()[i]).as("image embeds of row %d, second call", i)
                        .containsExactly(together.imageEmbeds()[i]);
            }
            for (int i = 0; i < 5; i++) {
                assertThat(other[0].languageInputs()[i]).as("language inputs of row %d, other caller", i)
                        .containsExactly(together.languageInputs()[i]);
            }
        }
        try (ImageEncoder serial = open("1")) {
            for (int i = 0; i < n; i++) {
                ImageEncoder.Encoded alone = serial.encodeWithIntermediates(List.of(batch.get(i)),
                        new long[][] {ids[i]});
                assertThat(together.imageEmbeds()[i]).as("image embeds of row %d", i)
                        .containsExactly(alone.imageEmbeds()[0]);
                assertThat(together.languageInputs()[i]).as("language inputs of row %d", i)
                        .containsExactly(alone.languageInputs()[0]);
            }
        }
    }

    @Test
    void llavaImagesRunSideBySideGiveEachRowItsFeaturesAloneBitForBit() throws Exception {
        Path pkg = tmp.resolve("int8-llava");
        Models.convert(HfFixture.named("llava").checkpoint(), pkg, Precision.INT8);
        Manifest m = Manifest.read(pkg);
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(1));
        List<ImageTensor> batch = new ArrayList<>();
        try (Stream<Path> files = Files.list(HfFixture.root().resolve("images"))) {
            for (Path f : files.sorted().toList()) {
                ImageTensor image = factory.createPreprocessor().preprocess(Files.readAllBytes(f));
                batch.add(scaled(image, 1 + 3 * batch.size()));
                batch.add(scaled(image, 2 + 3 * batch.size()));
            }
        }
        Path graph = m.graph(pkg, LlavaPackage.GRAPH_IMAGE);
        float[][] together;
        try (LlavaImageEncoder concurrent = withRuns("3", () -> LlavaImageEncoder.open(graph, LlavaConfig.load(pkg),
                RuntimeOptions.cpu(1)))) {
            together = concurrent.run(batch, LlavaImageGraph.IMAGE_FEATURES).get(LlavaImageGraph.IMAGE_FEATURES);
        }
        try (LlavaImageEncoder serial = withRuns("1", () -> LlavaImageEncoder.open(graph, LlavaConfig.load(pkg),
                RuntimeOptions.cpu(1)))) {
            for (int i = 0; i < batch.size(); i++) {
                float[][] alone = serial.run(List.of(batch.get(i)), LlavaImageGraph.IMAGE_FEATURES)
                        .get(LlavaImageGraph.IMAGE_FEATURES);
                assertThat(together[i]).as("image features of row %d", i).containsExactly(alone[0]);
            }
        }
    }

    /** The int8 encoder with at most {@code runs} vision runs at once. */
    private static ImageEncoder open(String runs) throws Exception {
        return withRuns(runs, () -> ImageEncoder.open(int8, InstructBlipConfig.load(int8), 1));
    }

    private interface Opener<T> {
        T open() throws Exception;
    }

    /** What {@code opener} opens with {@link ConcurrentRuns#PROPERTY} set to {@code runs}. */
    private static <T> T withRuns(String runs, Opener<T> opener) throws Exception {
        String before = System.getProperty(ConcurrentRuns.PROPERTY);
        System.setProperty(ConcurrentRuns.PROPERTY, runs);
        try {
            return opener.open();
        } finally {
            if (before == null) {
                System.clearProperty(ConcurrentRuns.PROPERTY);
            } else {
                System.setProperty(ConcurrentRuns.PROPERTY, before);
            }
        }
    }

    private static ImageTensor scaled(ImageTensor image, float factor) {
        float[] chw = image.chw().clone();
        for (int i = 0; i < chw.length; i++) {
            chw[i] *= factor;
        }
        return new ImageTensor(chw, image.channels(), image.height(), image.width());
    }
}
