package dev.loupe.model.image;

import dev.loupe.model.tools.RandomImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The array-reading conversions give the samples the general {@code getSamples}/{@code getPixel} paths give, and
 * reduced-scale JPEG decoding applies only when switched on and only as far as the caller's minimum size allows.
 */
class FastPathsTest {

    @ParameterizedTest
    @ValueSource(ints = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_BYTE_GRAY,
            BufferedImage.TYPE_BYTE_INDEXED})
    void byteRastersConvertAsTheGeneralPathDoes(int type) throws Exception {
        BufferedImage source = new BufferedImage(37, 23, type);
        source.getGraphics().drawImage(RandomImages.image(type, 37, 23), 0, 0, null);
        for (BufferedImage im : new BufferedImage[]{source, roundTrip(source, "png")}) {
            Raster raster = im.getRaster();
            RgbRows rows = RasterToRgb.byteRows(raster, im.getColorModel());
            assertThat(rows).as("type %d read in place", type).isNotNull();
            assertThat(rows.toImage().rgb()).isEqualTo(RasterToRgb.convertSamples(raster, im.getColorModel()).rgb());
        }
    }

    @Test
    void aSubRasterIsReadAtItsOwnOrigin() {
        BufferedImage im = RandomImages.image(3, 40, 30);
        BufferedImage bgr = new BufferedImage(40, 30, BufferedImage.TYPE_3BYTE_BGR);
        bgr.getGraphics().drawImage(im, 0, 0, null);
        Raster child = bgr.getRaster().createChild(5, 7, 20, 11, 0, 0, null);
        assertThat(RasterToRgb.byteRows(child, bgr.getColorModel()).toImage().rgb())
                .isEqualTo(RasterToRgb.convertSamples(child, bgr.getColorModel()).rgb());
    }

    @Test
    void jpegYcbcrRowsMatchPixelByPixelConversion() throws Exception {
        byte[] jpeg = RandomImages.jpeg(5, 61, 47, 0.9f);
        var reader = ImageIO.getImageReadersByFormatName("jpeg").next();
        reader.setInput(ImageIO.createImageInputStream(new ByteArrayInputStream(jpeg)));
        Raster raster = reader.readRaster(0, null);
        reader.dispose();
        for (JpegStructure.Stored stored : new JpegStructure.Stored[]{JpegStructure.Stored.YCBCR, JpegStructure.Stored.RGB}) {
            assertThat(JpegColour.rows(raster, stored).toImage().rgb())
                    .isEqualTo(JpegColour.convertPixels(raster, stored).rgb());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {7, 50, 333, 1300})
    void planarAndInterleavedHorizontalSumsAgree(int outWidth) throws Exception {
        byte[] jpeg = RandomImages.jpeg(11, 900, 37, 0.9f);
        RgbRows converted = new ImageDecoder().decodeRows(jpeg);
        RgbRows whole = RgbRows.of(converted.toImage());
        for (PillowResampler.Filter filter : PillowResampler.Filter.values()) {
            PillowResampler.Coefficients c = PillowResampler.Coefficients.compute(900, outWidth, filter);
            byte[] interleaved = PillowResampler.horizontalPass(whole, 0, 37, outWidth, c, false);
            assertThat(PillowResampler.horizontalPass(whole, 0, 37, outWidth, c, true)).isEqualTo(interleaved);
            assertThat(PillowResampler.horizontalPass(converted, 0, 37, outWidth, c, true)).isEqualTo(interleaved);
            assertThat(PillowResampler.horizontalPass(converted, 0, 37, outWidth, c, false)).isEqualTo(interleaved);
        }
    }

    @Test
    void downscaleKeepsBothSidesAtLeastTheMinimum() {
        assertThat(ImageDecoder.downscale(4000, 3000, 224, 224)).isEqualTo(8);
        assertThat(ImageDecoder.downscale(4000, 3000, 336, 336)).isEqualTo(8);
        assertThat(ImageDecoder.downscale(640, 480, 224, 224)).isEqualTo(2);
        assertThat(ImageDecoder.downscale(640, 480, 336, 336)).isEqualTo(1);
        assertThat(ImageDecoder.downscale(900, 449, 224, 224)).isEqualTo(2); // 449 // 224 = 2
        assertThat(ImageDecoder.downscale(900, 447, 224, 224)).as("Pillow's draft rule: 447 // 224 = 1, though "
                + "ceil(447 / 2) = 224").isEqualTo(1);
        assertThat(ImageDecoder.downscale(4000, 3000, 0, 0)).isEqualTo(1);
    }

    @Test
    void reducedScaleDecodingOnlyWhenSwitchedOn() throws Exception {
        byte[] jpeg = RandomImages.jpeg(9, 640, 480, 0.9f);
        ImageDecoder exact = new ImageDecoder();
        assertThat(exact.fastJpegDownscale()).isFalse();
        assertThat(exact.decodeRows(jpeg, 224, 224).width).isEqualTo(640);
        ImageDecoder fast = exact.withFastJpegDownscale(true);
        RgbRows half = fast.decodeRows(jpeg, 224, 224);
        assertThat(new int[]{half.width, half.height}).containsExactly(320, 240);
        assertThat(fast.decode(jpeg).width()).as("no size hint: full size").isEqualTo(640);
        byte[] png = RandomImages.png(9, 640, 480);
        assertThat(fast.decodeRows(png, 224, 224).width).as("PNGs are never reduced").isEqualTo(640);
    }

    private static BufferedImage roundTrip(BufferedImage im, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(im, format, out)).isTrue();
        return ImageIO.read(new ByteArrayInputStream(out.toByteArray()));
    }
}
