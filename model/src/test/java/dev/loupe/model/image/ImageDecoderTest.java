package dev.loupe.model.image;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import org.junit.jupiter.api.Test;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Decoding tiny generated files: formats, Pillow-compatible RGB conversion, and every failure code. */
class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder();

    private static byte[] encode(BufferedImage image, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(image, format, out)).as("writer for " + format).isTrue();
        return out.toByteArray();
    }

    private static BufferedImage noise(int w, int h, long seed) {
        BufferedImage im = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                im.setRGB(x, y, r.nextInt(0x1000000));
            }
        }
        return im;
    }

    private static void assertPixel(RgbImage im, int x, int y, int r, int g, int b) {
        assertThat(new int[]{im.sample(x, y, 0), im.sample(x, y, 1), im.sample(x, y, 2)})
                .as("pixel (%d,%d)", x, y).containsExactly(r, g, b);
    }

    private void assertFails(byte[] bytes, ErrorCode code) {
        assertFails(decoder, bytes, code);
    }

    private static void assertFails(ImageDecoder d, byte[] bytes, ErrorCode code) {
        assertThatThrownBy(() -> d.decode(bytes))
                .isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(code));
    }

    @Test
    void zeroBytesAreEmpty() {
        assertFails(new byte[0], ErrorCode.IMAGE_EMPTY);
        assertFails(null, ErrorCode.IMAGE_EMPTY);
    }

    @Test
    void overTheByteLimitIsTooLarge() throws Exception {
        byte[] png = encode(noise(8, 8, 1), "png");
        assertFails(new ImageDecoder(png.length - 1, 1_000_000), png, ErrorCode.IMAGE_TOO_LARGE);
        assertThat(new ImageDecoder(png.length, 64).decode(png).width()).isEqualTo(8);
    }

    @Test
    void textIsUnsupported() {
        assertFails("this is a text file named photo.jpg\n".getBytes(StandardCharsets.UTF_8), ErrorCode.IMAGE_UNSUPPORTED_FORMAT);
    }

    @Test
    void truncatedJpegIsCorrupt() throws Exception {
        byte[] jpeg = encode(noise(64, 64, 2), "jpeg");
        assertThat(decoder.decode(jpeg).width()).isEqualTo(64);
        assertFails(Arrays.copyOf(jpeg, jpeg.length / 2), ErrorCode.IMAGE_CORRUPT);
        assertFails(Arrays.copyOf(jpeg, jpeg.length - 2), ErrorCode.IMAGE_CORRUPT);
        assertFails(Arrays.copyOf(jpeg, 300), ErrorCode.IMAGE_CORRUPT);
    }

    @Test
    void jpegWithTrailingBytesAfterEndMarkerDecodes() throws Exception {
        byte[] jpeg = encode(noise(16, 16, 3), "jpeg");
        byte[] padded = Arrays.copyOf(jpeg, jpeg.length + 10);
        assertThat(decoder.decode(padded).height()).isEqualTo(16);
    }

    @Test
    void truncatedPngIsCorrupt() throws Exception {
        byte[] png = encode(noise(64, 64, 4), "png");
        assertFails(Arrays.copyOf(png, png.length / 2), ErrorCode.IMAGE_CORRUPT);
        assertFails(Arrays.copyOf(png, 40), ErrorCode.IMAGE_CORRUPT);
    }

    @Test
    void corruptPngDataIsCorrupt() throws Exception {
        byte[] png = encode(noise(64, 64, 5), "png");
        for (int i = 60; i < png.length - 20; i += 7) {
            png[i] ^= 0x5A;
        }
        assertFails(png, ErrorCode.IMAGE_CORRUPT);
    }

    @Test
    void pngHeaderClaimingTenGigapixelsIsRejectedBeforeDecoding() {
        byte[] bomb = pngWithHeaderOnly(100_000, 100_000);
        assertFails(bomb, ErrorCode.IMAGE_TOO_MANY_PIXELS);
    }

    @Test
    void pixelLimitIsConfigurable() throws Exception {
        byte[] png = encode(noise(10, 10, 6), "png");
        assertFails(new ImageDecoder(1 << 20, 99), png, ErrorCode.IMAGE_TOO_MANY_PIXELS);
        assertThat(new ImageDecoder(1 << 20, 100).decode(png).width()).isEqualTo(10);
    }

    @Test
    void rgbPngIsExact() throws Exception {
        BufferedImage src = noise(5, 3, 7);
        RgbImage im = decoder.decode(encode(src, "png"));
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                int rgb = src.getRGB(x, y);
                assertPixel(im, x, y, (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
            }
        }
    }

    @Test
    void greyPngIsReplicated() throws Exception {
        BufferedImage grey = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSamples(0, 0, 3, 1, 0, new int[]{0, 77, 255});
        RgbImage im = decoder.decode(encode(grey, "png"));
        assertPixel(im, 0, 0, 0, 0, 0);
        assertPixel(im, 1, 0, 77, 77, 77);
        assertPixel(im, 2, 0, 255, 255, 255);
    }

    @Test
    void rgbaPngDropsAlphaWithoutCompositing() throws Exception {
        BufferedImage rgba = new BufferedImage(2, 1, BufferedImage.TYPE_4BYTE_ABGR);
        WritableRaster r = rgba.getRaster();
        r.setPixel(0, 0, new int[]{10, 20, 30, 0});   // fully transparent: colour kept
        r.setPixel(1, 0, new int[]{200, 150, 100, 128});
        RgbImage im = decoder.decode(encode(rgba, "png"));
        assertPixel(im, 0, 0, 10, 20, 30);
        assertPixel(im, 1, 0, 200, 150, 100);
    }

    @Test
    void greyAlphaPngDropsAlpha() throws Exception {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false,
                Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE);
        WritableRaster r = cm.createCompatibleWritableRaster(2, 1);
        r.setPixel(0, 0, new int[]{90, 0});
        r.setPixel(1, 0, new int[]{180, 255});
        RgbImage im = decoder.decode(encode(new BufferedImage(cm, r, false, null), "png"));
        assertPixel(im, 0, 0, 90, 90, 90);
        assertPixel(im, 1, 0, 180, 180, 180);
    }

    @Test
    void sixteenBitGreyPngIsClippedAsPillowDoes() throws Exception {
        BufferedImage grey = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        grey.getRaster().setSamples(0, 0, 3, 1, 0, new int[]{100, 300, 65535});
        RgbImage im = decoder.decode(encode(grey, "png"));
        // Pillow opens 16-bit grey as I;16 and convert("RGB") clips at 255.
        assertPixel(im, 0, 0, 100, 100, 100);
        assertPixel(im, 1, 0, 255, 255, 255);
        assertPixel(im, 2, 0, 255, 255, 255);
    }

    @Test
    void sixteenBitRgbPngKeepsHighByte() throws Exception {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(1, 1);
        r.setPixel(0, 0, new int[]{0x12FF, 0xAB01, 0xFFFF});
        RgbImage im = decoder.decode(encode(new BufferedImage(cm, r, false, null), "png"));
        assertPixel(im, 0, 0, 0x12, 0xAB, 0xFF);
    }

    @Test
    void palettePngIsLookedUp() throws Exception {
        byte[] reds = {(byte) 255, 0, 7};
        byte[] greens = {0, (byte) 128, 8};
        byte[] blues = {0, 64, 9};
        IndexColorModel icm = new IndexColorModel(8, 3, reds, greens, blues, 2); // index 2 transparent
        BufferedImage pal = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, icm);
        pal.getRaster().setSamples(0, 0, 3, 1, 0, new int[]{2, 1, 0});
        RgbImage im = decoder.decode(encode(pal, "png"));
        assertPixel(im, 0, 0, 7, 8, 9);
        assertPixel(im, 1, 0, 0, 128, 64);
        assertPixel(im, 2, 0, 255, 0, 0);
    }

    @Test
    void bmpAndGifDecode() throws Exception {
        BufferedImage src = noise(4, 4, 8);
        RgbImage bmp = decoder.decode(encode(src, "bmp"));
        int rgb = src.getRGB(3, 2);
        assertPixel(bmp, 3, 2, (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);

        IndexColorModel icm = new IndexColorModel(8, 2, new byte[]{0, 0x33}, new byte[]{0, 0x66}, new byte[]{0, (byte) 0x99});
        // 16x16: the JDK's GIF writer loses the pixels of images only 4 rows high.
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_INDEXED, icm);
        flat.getRaster().setSample(1, 1, 0, 1);
        RgbImage gif = decoder.decode(encode(flat, "gif"));
        assertThat(gif.width()).isEqualTo(16);
        assertPixel(gif, 1, 1, 0x33, 0x66, 0x99);
        assertPixel(gif, 0, 0, 0, 0, 0);
    }

    /** A 4x2 lossless WebP (VP8L) made with {@code cwebp -lossless -exact}. */
    private static final String WEBP_4X2_LOSSLESS =
            "5249464646000000574542505650384c3a0000002f034000003f401660b220fa82ca5f661a64c210fbf5efe2520d99"
                    + "80c574f06ba47f9bcd7f80902287d4cc57eb412880c6602209a65f44ff031b";

    @Test
    void losslessWebpDecodesExactly() throws Exception {
        RgbImage im = decoder.decode(HexFormat.of().parseHex(WEBP_4X2_LOSSLESS));
        assertThat(im.width()).isEqualTo(4);
        assertThat(im.height()).isEqualTo(2);
        int[][] expected = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255},
                {10, 20, 30}, {200, 100, 50}, {0, 0, 0}, {128, 128, 128}};
        for (int i = 0; i < 8; i++) {
            assertPixel(im, i % 4, i / 4, expected[i][0], expected[i][1], expected[i][2]);
        }
    }

    @Test
    void truncatedWebpIsCorrupt() {
        byte[] webp = HexFormat.of().parseHex(WEBP_4X2_LOSSLESS);
        assertFails(Arrays.copyOf(webp, 40), ErrorCode.IMAGE_CORRUPT);
    }

    @Test
    void isThreadSafe() throws Exception {
        byte[] png = encode(noise(32, 32, 9), "png");
        RgbImage expected = decoder.decode(png);
        Thread[] threads = new Thread[4];
        Throwable[] failure = new Throwable[1];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < 20; i++) {
                        assertThat(decoder.decode(png).rgb()).isEqualTo(expected.rgb());
                    }
                } catch (Throwable e) {
                    synchronized (failure) {
                        failure[0] = e;
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure[0]).isNull();
    }

    /** Signature plus an IHDR chunk (valid CRC) for an 8-bit RGB image of the given size, and nothing else. */
    static byte[] pngWithHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4);
        png.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10}).putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return png.array();
    }

    /** A flat 16x16 four-channel JPEG (quality 100, so the flat samples survive) with an Adobe APP14 marker. */
    private static byte[] fourChannelJpeg(int[] stored, int adobeTransform) throws IOException {
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                raster.setPixel(x, y, stored);
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(1.0f);
            writer.write(null, new IIOImage(raster, null, null), param); // raster: written as is, no conversion
        } finally {
            writer.dispose();
        }
        byte[] plain = bytes.toByteArray();
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) adobeTransform};
        byte[] out = new byte[plain.length + app14.length];
        System.arraycopy(plain, 0, out, 0, 2);
        System.arraycopy(app14, 0, out, 2, app14.length);
        System.arraycopy(plain, 2, out, 2 + app14.length, plain.length - 2);
        return out;
    }

    @Test
    void adobeCmykJpegUsesPillowsInversionAndConversion() throws Exception {
        // Stored (Adobe-inverted) 200,100,50,220 = ink 55,155,205,35; Pillow's cmyk2rgb gives 173,86,43.
        RgbImage im = decoder.decode(fourChannelJpeg(new int[]{200, 100, 50, 220}, 0));
        assertPixel(im, 8, 8, 173, 86, 43);
    }

    @Test
    void ycckJpegUsesLibjpegThenPillowConversion() throws Exception {
        // YCC 200,100,50 -> RGB 91,255,150 (libjpeg tables); with K 220 Pillow gives 141,0,91.
        RgbImage im = decoder.decode(fourChannelJpeg(new int[]{200, 100, 50, 220}, 2));
        assertPixel(im, 8, 8, 141, 0, 91);
    }

    @Test
    void ycbcrJpegIsCloseToItsSource() throws Exception {
        BufferedImage src = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                src.setRGB(x, y, 0x3C78B4);
            }
        }
        RgbImage im = decoder.decode(encode(src, "jpeg"));
        int[] expected = {0x3C, 0x78, 0xB4};
        for (int c = 0; c < 3; c++) {
            assertThat(im.sample(5, 5, c)).isCloseTo(expected[c], org.assertj.core.data.Offset.offset(3));
        }
    }

    @Test
    void progressiveJpegDecodesLikeBaseline() throws Exception {
        BufferedImage src = noise(24, 16, 10);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            writer.write(null, new IIOImage(src, null, null), param);
        } finally {
            writer.dispose();
        }
        RgbImage progressive = decoder.decode(bytes.toByteArray());
        RgbImage baseline = decoder.decode(encode(src, "jpeg"));
        assertThat(progressive.width()).isEqualTo(24);
        int maxDiff = 0;
        for (int i = 0; i < progressive.rgb().length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs((progressive.rgb()[i] & 0xFF) - (baseline.rgb()[i] & 0xFF)));
        }
        assertThat(maxDiff).isLessThanOrEqualTo(2);
        assertFails(Arrays.copyOf(bytes.toByteArray(), bytes.size() * 2 / 3), ErrorCode.IMAGE_CORRUPT);
    }
}
