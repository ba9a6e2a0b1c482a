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
        // the same pixels as resizing the decoded image to that size
        RgbImage decoded = new ImageDecoder().decode(jpeg);
        assertThat(t.rgb()).isEqualTo(new PillowResampler(PillowResampler.Filter.BILINEAR).resize(decoded, 192, 144).rgb());
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
