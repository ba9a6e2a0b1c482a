package dev.loupe.model.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import org.junit.jupiter.api.Test;

/** CLIP resizing and cropping details that the fixture images do not exercise (odd offsets, small images). */
class ClipImageProcessorTest {

    /** A 1-channel-looking RGB image whose every channel holds 10 * y + x + 1. */
    private static RgbImage ramp(int w, int h) {
        byte[] rgb = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    rgb[3 * (y * w + x) + c] = (byte) (10 * y + x + 1);
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static int at(RgbImage img, int x, int y) {
        return img.sample(x, y, 0);
    }

    @Test
    void cropOffsetsRoundDownAsTransformersFloorDivision() {
        RgbImage cropped = ClipImageProcessor.centerCrop(ramp(5, 4), 1, 2); // (4-1)//2 = 1, (5-2)//2 = 1
        assertThat(cropped.width()).isEqualTo(2);
        assertThat(cropped.height()).isEqualTo(1);
        assertThat(at(cropped, 0, 0)).isEqualTo(10 * 1 + 1 + 1);
        assertThat(at(cropped, 1, 0)).isEqualTo(10 * 1 + 2 + 1);
    }

    @Test
    void anImageSmallerThanTheCropIsCentredOnZeros() {
        RgbImage cropped = ClipImageProcessor.centerCrop(ramp(2, 1), 4, 3); // pads: top ceil(3/2)=2, left ceil(1/2)=1
        assertThat(at(cropped, 1, 2)).isEqualTo(1);
        assertThat(at(cropped, 2, 2)).isEqualTo(2);
        int nonZero = 0;
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 3; x++) {
                nonZero += at(cropped, x, y) != 0 ? 1 : 0;
            }
        }
        assertThat(nonZero).isEqualTo(2);
    }

    @Test
    void shortestEdgeResizeTruncatesTheLongEdge() throws AnnotationException {
        ClipImageProcessor noCrop = new ClipImageProcessor(new ImageDecoder(), true, 48, 0, 0,
                PillowResampler.Filter.BICUBIC, false, 0, 0, true, 1 / 255.0, false, new double[] {0, 0, 0},
                new double[] {1, 1, 1});
        ImageTensor wide = noCrop.toTensor(ramp(100, 57)); // int(48 * 100 / 57) = 84
        assertThat(wide.height()).isEqualTo(48);
        assertThat(wide.width()).isEqualTo(84);
        ImageTensor tall = noCrop.toTensor(ramp(30, 40)); // int(48 * 40 / 30) = 64
        assertThat(tall.height()).isEqualTo(64);
        assertThat(tall.width()).isEqualTo(48);
    }

    @Test
    void anExtremeAspectRatioIsRejectedBeforeResizing() {
        ClipImageProcessor processor = new ClipImageProcessor(new ImageDecoder(50L << 20, 10_000), true, 48, 0, 0,
                PillowResampler.Filter.BICUBIC, true, 48, 48, true, 1 / 255.0, true, new double[] {0, 0, 0},
                new double[] {1, 1, 1});
        assertThatThrownBy(() -> processor.toTensor(ramp(9000, 1)))
                .isInstanceOf(AnnotationException.class)
                .extracting(e -> ((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_TOO_MANY_PIXELS);
    }
}
