package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Q-Former families run their prompt-independent image stage once per distinct image (InstructBLIP: the ViT,
 * its Q-Former reading each row's instruction; BLIP-2: vision and Q-Former), and reusing it changes no bit: a batch
 * with duplicated images gives exactly what every row computed in full gives.
 */
class ImageEncoderFeatureReuseTest {
    @TempDir
    Path tmp;

    private record Opened(ImageEncoder encoder, List<ImageTensor> images) {}

    private Opened open(String fixture, long cacheBytes) throws Exception {
        HfFixture f = HfFixture.named(fixture);
        Path pkg = tmp.resolve("pkg");
        if (!Files.exists(pkg)) {
            Models.convert(f.checkpoint(), pkg);
        }
        Manifest manifest = Manifest.read(pkg);
        RuntimeOptions options = RuntimeOptions.cpu(1).withVisionCacheBytes(cacheBytes);
        ImageEncoder encoder = ImageEncoder.open(manifest.graph(pkg, InstructBlipPackage.GRAPH_VISION),
                manifest.graph(pkg, InstructBlipPackage.GRAPH_QFORMER), InstructBlipConfig.load(pkg), options);
        ImagePreprocessor preprocessor = Models.open(pkg, options).createPreprocessor();
        List<ImageTensor> images = new ArrayList<>();
        for (String file : List.of("img_64x64.png", "img_100x57.png")) {
            images.add(preprocessor.preprocess(Files.readAllBytes(HfFixture.image(file))));
        }
        return new Opened(encoder, images);
    }

    /** Four instructions of different lengths (the Q-Former pads them to the longest). */
    private static long[][] instructions(int rows) {
        long[][] ids = new long[rows][];
        for (int r = 0; r < rows; r++) {
            ids[r] = new long[3 + 2 * r];
            for (int t = 0; t < ids[r].length; t++) {
                ids[r][t] = 5 + (7 * r + 3 * t) % 40;
            }
        }
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {"instructblip-vicuna", "blip2-opt"})
    void duplicatedImagesRunOnceAndGiveExactlyTheUnreusedOutputs(String fixture) throws Exception {
        Opened o = open(fixture, 0);
        try (ImageEncoder encoder = o.encoder()) {
            ImageTensor a = o.images().get(0);
            ImageTensor b = o.images().get(1);
            // the same image preprocessed twice is two objects with equal pixels
            ImageTensor aAgain = new ImageTensor(a.chw().clone(), a.channels(), a.height(), a.width());
            List<ImageTensor> rows = List.of(a, b, aAgain, a);
            long[][] ids = instructions(rows.size());
            float[][][] reused = encoder.encode(rows, ids);
            VisionFeatureStats stats = encoder.visionFeatures().stats();
            assertThat(stats.imagesEncoded()).isEqualTo(2);
            assertThat(stats.duplicateRows()).isEqualTo(2);

            float[][] full = encoder.encodeWithIntermediates(rows, ids).languageInputs();
            for (int r = 0; r < rows.size(); r++) {
                assertThat(HfFixture.flat(reused[r])).as("row %d", r).containsExactly(full[r]);
            }
            // and a row alone, nothing to share
            float[][][] alone = encoder.encode(List.of(aAgain), new long[][] {ids[2]});
            assertThat(HfFixture.flat(alone[0])).containsExactly(full[2]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"instructblip-vicuna", "blip2-opt"})
    void theCacheRunsAnImageOnceAcrossCallsAndZeroDisablesIt(String fixture) throws Exception {
        Opened cached = open(fixture, RuntimeOptions.DEFAULT_VISION_CACHE_BYTES);
        Opened uncached = open(fixture, 0);
        try (ImageEncoder withCache = cached.encoder(); ImageEncoder without = uncached.encoder()) {
            ImageTensor a = cached.images().get(0);
            long[][] ids = instructions(2);
            float[][][] first = withCache.encode(List.of(a), new long[][] {ids[0]});
            float[][][] second = withCache.encode(List.of(a), new long[][] {ids[1]});
            assertThat(withCache.visionFeatures().stats().imagesEncoded()).isEqualTo(1);
            assertThat(withCache.visionFeatures().stats().cacheHits()).isEqualTo(1);
            assertThat(withCache.visionFeatures().stats().cacheMisses()).isEqualTo(1);
            assertThat(withCache.visionFeatures().stats().cacheEntries()).isEqualTo(1);

            float[][][] firstUncached = without.encode(List.of(a), new long[][] {ids[0]});
            float[][][] secondUncached = without.encode(List.of(a), new long[][] {ids[1]});
            assertThat(without.visionFeatures().stats().imagesEncoded()).isEqualTo(2);
            assertThat(without.visionFeatures().stats().cacheEntries()).isZero();
            assertThat(HfFixture.flat(first[0])).containsExactly(HfFixture.flat(firstUncached[0]));
            assertThat(HfFixture.flat(second[0])).containsExactly(HfFixture.flat(secondUncached[0]));
        }
        // closing the encoder frees its cache (native memory); a later call is refused, not a crash
        ImageEncoder closed = cached.encoder();
        assertThat(closed.visionFeatures().stats().cacheEntries()).isZero();
        assertThatThrownBy(() -> closed.encode(List.of(cached.images().get(0)), instructions(1)))
                .isInstanceOf(AnnotationException.class).hasMessageContaining("closed");
    }
}
