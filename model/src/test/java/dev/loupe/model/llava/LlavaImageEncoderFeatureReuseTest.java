package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LLaVA's whole image side (CLIP and projector) is prompt independent: it runs once per distinct image, in a call
 * and across calls through the cache, and reusing it changes no bit.
 */
class LlavaImageEncoderFeatureReuseTest {
    @TempDir
    static Path tmp;
    static Path pkg;
    static ImageTensor a;
    static ImageTensor b;

    @BeforeAll
    static void convert() throws Exception {
        pkg = tmp.resolve("pkg");
        Models.convert(HfFixture.LLAVA.checkpoint(), pkg);
        ImagePreprocessor preprocessor = Models.open(pkg, RuntimeOptions.cpu(1)).createPreprocessor();
        a = preprocessor.preprocess(Files.readAllBytes(HfFixture.image("img_64x64.png")));
        b = preprocessor.preprocess(Files.readAllBytes(HfFixture.image("img_40x30.png")));
    }

    private static LlavaImageEncoder open(long cacheBytes) throws Exception {
        Manifest manifest = Manifest.read(pkg);
        return LlavaImageEncoder.open(manifest.graph(pkg, LlavaPackage.GRAPH_IMAGE),
                LlavaConfig.fromJson(manifest.config()), RuntimeOptions.cpu(1).withVisionCacheBytes(cacheBytes));
    }

    @Test
    void duplicatedImagesRunOnceAndGiveExactlyTheUnreusedFeatures() throws Exception {
        try (LlavaImageEncoder encoder = open(0)) {
            ImageTensor aAgain = new ImageTensor(a.chw().clone(), a.channels(), a.height(), a.width());
            List<ImageTensor> rows = List.of(a, b, aAgain, a);
            float[][][] reused = encoder.encode(rows);
            assertThat(encoder.visionFeatures().stats().imagesEncoded()).isEqualTo(2);
            float[][] full = encoder.run(rows, LlavaImageGraph.IMAGE_FEATURES).get(LlavaImageGraph.IMAGE_FEATURES);
            for (int r = 0; r < rows.size(); r++) {
                assertThat(HfFixture.flat(reused[r])).as("row %d", r).containsExactly(full[r]);
            }
        }
    }

    @Test
    void theCacheRunsAnImageOnceAcrossCallsAndZeroDisablesIt() throws Exception {
        try (LlavaImageEncoder cached = open(RuntimeOptions.DEFAULT_VISION_CACHE_BYTES);
             LlavaImageEncoder uncached = open(0)) {
            float[][][] first = cached.encode(List.of(a));
            float[][][] second = cached.encode(List.of(b, a));
            assertThat(cached.visionFeatures().stats().imagesEncoded()).isEqualTo(2);
            assertThat(cached.visionFeatures().stats().cacheHits()).isEqualTo(1);
            uncached.encode(List.of(a));
            float[][][] again = uncached.encode(List.of(a));
            assertThat(uncached.visionFeatures().stats().imagesEncoded()).isEqualTo(2);
            assertThat(HfFixture.flat(second[1])).containsExactly(HfFixture.flat(first[0]));
            assertThat(HfFixture.flat(again[0])).containsExactly(HfFixture.flat(first[0]));
        }
    }

    @Test
    void closingTheEncoderFreesItsCacheAndRefusesLaterCalls() throws Exception {
        LlavaImageEncoder encoder = open(RuntimeOptions.DEFAULT_VISION_CACHE_BYTES);
        encoder.encode(List.of(a));
        assertThat(encoder.visionFeatures().stats().cacheEntries()).isEqualTo(1);
        encoder.close();
        assertThat(encoder.visionFeatures().stats().cacheEntries()).isZero();
        assertThat(encoder.visionFeatures().stats().cacheBytes()).isZero();
        assertThatThrownBy(() -> encoder.encode(List.of(a)))
                .isInstanceOf(AnnotationException.class).hasMessageContaining("closed");
    }
}
