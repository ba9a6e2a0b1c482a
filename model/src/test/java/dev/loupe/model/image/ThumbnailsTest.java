package dev.loupe.model.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Thumbnail;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.RandomImages;
import org.junit.jupiter.api.Test;

/** A thumbnail comes from the decode that feeds the model, without changing the model's tensor. */
class ThumbnailsTest {

    @Test
    void theTensorIsTheSameWithAThumbnailAndTheThumbnailKeepsTheAspect() throws Exception {
        BlipImageProcessor blip = BlipImageProcessor.fromCheckpoint(HfFixture.VICUNA.dir().resolve("checkpoint"));
        byte[] jpeg = RandomImages.jpeg(3, 640, 480, 0.9f);
        ImageTensor alone = blip.preprocess(jpeg);
        ImagePreprocessor.Preprocessed both = blip.preprocessWithThumbnail(jpeg, 192);

        assertThat(both.tensor().chw()).isEqualTo(alone.chw());
        Thumbnail t = both.thumbnail();
        assertThat(t.width()).isEqualTo(192);
        assertThat(t.height()).isEqualTo(144);
        // more pixels than the model's 32x32 input: the same pixels as resizing the decoded image to that size
        RgbImage decoded = new ImageDecoder().decode(jpeg);
        assertThat(t.rgb()).isEqualTo(new PillowResampler(PillowResampler.Filter.BILINEAR).resize(decoded, 192, 144).rgb());
    }

    @Test
    void aThumbnailTheModelsDownscaledInputHoldsIsMadeFromItWithinAFewLevelsOfADirectResize() throws Exception {
        BlipImageProcessor blip = BlipImageProcessor.fromCheckpoint(HfFixture.VICUNA.dir().resolve("checkpoint"));
        byte[] jpeg = RandomImages.jpeg(3, 640, 480, 0.9f);
        // the fixture's input is 32x32 (a real BLIP's 224x224): a 24x18 thumbnail fits in it both ways
        ImagePreprocessor.Preprocessed both = blip.preprocessWithThumbnail(jpeg, 24);
        assertThat(both.tensor().chw()).isEqualTo(blip.preprocess(jpeg).chw());
        Thumbnail t = both.thumbnail();
        assertThat(t.width()).isEqualTo(24);
        assertThat(t.height()).isEqualTo(18);
        RgbImage decoded = new ImageDecoder().decode(jpeg);
        PillowResampler bilinear = new PillowResampler(PillowResampler.Filter.BILINEAR);
        RgbImage modelInput = new PillowResampler(PillowResampler.Filter.BICUBIC).resize(decoded, 32, 32);
        assertThat(t.rgb()).isEqualTo(bilinear.resize(modelInput, 24, 18).rgb());
        byte[] direct = bilinear.resize(decoded, 24, 18).rgb();
        long sum = 0;
        int max = 0;
        for (int i = 0; i < direct.length; i++) {
            int d = Math.abs((direct[i] & 0xFF) - (t.rgb()[i] & 0xFF));
            sum += d;
            max = Math.max(max, d);
        }
        assertThat((double) sum / direct.length).as("mean difference from a direct resize").isLessThan(2.0);
        assertThat(max).as("largest difference from a direct resize").isLessThan(16);
    }

    @Test
    void aSmallImageIsNotEnlarged() throws Exception {
        ClipImageProcessor clip = ClipImageProcessor.fromCheckpoint(HfFixture.LLAVA.dir().resolve("checkpoint"), new ImageDecoder());
        byte[] png = RandomImages.png(4, 40, 30);
        Thumbnail t = clip.preprocessWithThumbnail(png, 192).thumbnail();
        assertThat(t.width()).isEqualTo(40);
        assertThat(t.height()).isEqualTo(30);
        assertThat(t.rgb()).isEqualTo(new ImageDecoder().decode(png).rgb());
        assertThat(clip.preprocessWithThumbnail(png, 192).tensor().chw()).isEqualTo(clip.preprocess(png).chw());
    }
}
