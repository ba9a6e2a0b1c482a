package dev.loupe.model.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Pixel parity with transformers' BlipImageProcessor on the reference fixtures (1e-5 max abs diff). */
class BlipImageProcessorTest {
    private static JsonNode reference;
    private static BlipImageProcessor processor;

    @BeforeAll
    static void load() throws Exception {
        reference = new ObjectMapper().readTree(HfFixture.VICUNA.dir().resolve("reference.json").toFile());
        processor = BlipImageProcessor.fromCheckpoint(HfFixture.VICUNA.dir().resolve("checkpoint"));
    }

    private static byte[] image(String name) throws Exception {
        return Files.readAllBytes(HfFixture.root().resolve("images").resolve(name));
    }

    static float maxAbsDiff(float[] a, float[] b, int bOffset) {
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[bOffset + i]));
        }
        return max;
    }

    @Test
    void singleImageMatchesReferenceTensor() throws Exception {
        ImageTensor t = processor.preprocess(image(reference.at("/single/image").asText()));
        assertThat(new int[]{t.channels(), t.height(), t.width()}).containsExactly(3, 32, 32);
        float[] expected = HfFixture.readF32(HfFixture.VICUNA.dir().resolve("tensors.safetensors"), "single.pixel_values");
        float diff = maxAbsDiff(t.chw(), expected, 0);
        System.out.println("single.pixel_values max abs diff = " + diff);
        assertThat(diff).isLessThanOrEqualTo(1e-5f);
    }

    @Test
    void aGivenBufferIsFilledWithTheSameValuesAsANewTensor() throws Exception {
        byte[] encoded = image(reference.at("/single/image").asText());
        float[] expected = processor.preprocess(encoded).chw();
        float[] recycled = new float[expected.length];
        Arrays.fill(recycled, Float.NaN);   // an earlier image's values: every one must be written

        var p = processor.preprocess(encoded, 0, n -> recycled);

        assertThat(p.tensor().chw()).isSameAs(recycled).containsExactly(expected);
        assertThat(p.thumbnail()).isNull();
        var withThumbnail = processor.preprocess(encoded, 16, float[]::new);
        assertThat(withThumbnail.tensor().chw()).containsExactly(expected);
        assertThat(withThumbnail.thumbnail()).usingRecursiveComparison()
                .isEqualTo(processor.preprocessWithThumbnail(encoded, 16).thumbnail());
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                () -> processor.preprocess(encoded, 0, n -> new float[n - 1])))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("pixel buffer");
    }

    @Test
    void singleImageMatchesRoundedJsonValues() throws Exception {
        ImageTensor t = processor.preprocess(image("img_64x64.png"));
        JsonNode values = reference.at("/single/pixel_values_full_rounded6");
        float[] expected = new float[values.size()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (float) values.get(i).asDouble();
        }
        assertThat(maxAbsDiff(t.chw(), expected, 0)).isLessThanOrEqualTo(1e-5f);
    }

    @Test
    void batchImagesMatchReferenceTensor() throws Exception {
        float[] expected = HfFixture.readF32(HfFixture.VICUNA.dir().resolve("tensors.safetensors"), "batch.pixel_values");
        JsonNode images = reference.at("/batch/images");
        int per = 3 * 32 * 32;
        for (int i = 0; i < images.size(); i++) {
            ImageTensor t = processor.preprocess(image(images.get(i).asText()));
            float diff = maxAbsDiff(t.chw(), expected, i * per);
            System.out.println("batch.pixel_values[" + i + "] (" + images.get(i).asText() + ") max abs diff = " + diff);
            assertThat(diff).as(images.get(i).asText()).isLessThanOrEqualTo(1e-5f);
        }
    }

    /** BLIP-2 (40 px: 40x30 keeps its width, a vertical-only resize) and Flan-T5 (48 px) fixtures too. */
    @ParameterizedTest
    @ValueSource(strings = {"instructblip-vicuna", "blip2-opt", "instructblip-flant5"})
    void everyBlipFixtureMatches(String model) throws Exception {
        Path dir = HfFixture.root().resolve(model);
        BlipImageProcessor p = BlipImageProcessor.fromCheckpoint(dir.resolve("checkpoint"));
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        float[] single = HfFixture.readF32(dir.resolve("tensors.safetensors"), "single.pixel_values");
        assertThat(maxAbsDiff(p.preprocess(image(ref.at("/single/image").asText())).chw(), single, 0)).isLessThanOrEqualTo(1e-5f);
        float[] batch = HfFixture.readF32(dir.resolve("tensors.safetensors"), "batch.pixel_values");
        int per = 3 * p.height() * p.width();
        for (int i = 0; i < 3; i++) {
            float diff = maxAbsDiff(p.preprocess(image(ref.at("/batch/images/" + i).asText())).chw(), batch, i * per);
            assertThat(diff).as(model + " batch image " + i).isLessThanOrEqualTo(1e-5f);
        }
    }

    @Test
    void configIsReadFromCheckpoint() {
        assertThat(processor.height()).isEqualTo(32);
        assertThat(processor.width()).isEqualTo(32);
    }

    @Test
    void resizeKeepsUniformImagesUniform() {
        byte[] rgb = new byte[40 * 30 * 3];
        Arrays.fill(rgb, (byte) 200);
        RgbImage up = new PillowResampler(PillowResampler.Filter.BICUBIC).resize(new RgbImage(40, 30, rgb), 97, 61);
        RgbImage down = new PillowResampler(PillowResampler.Filter.BICUBIC).resize(new RgbImage(40, 30, rgb), 7, 5);
        for (RgbImage im : new RgbImage[]{up, down}) {
            for (byte b : im.rgb()) {
                assertThat(b & 0xFF).isEqualTo(200);
            }
        }
    }
}
