package dev.loupe.model.image;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.tools.RandomImages;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * libjpeg-turbo decoding against Pillow's own decodes of the same files ({@code fixtures/jpeg-decoding}, made by its
 * make_fixtures.py with cjpeg and Pillow 12.3 / libjpeg-turbo 3.1), exact and at 1/2, 1/4, 1/8 scale, and against
 * the ImageIO (IJG libjpeg 6b) path; corrupt and oversized files; many threads on the handle pool.
 */
class TurboJpegDecoderTest {
    private static final Path FIXTURES = Path.of(System.getProperty("loupe.fixtures"), "jpeg-decoding");
    private static final int W = 83;
    private static final int H = 61;

    private ImageDecoder turbo;
    private final ImageDecoder imageIo = new ImageDecoder().withTurboJpeg(false);

    @BeforeEach
    void needsLibjpegTurbo() {
        TurboJpeg.required();
        turbo = new ImageDecoder().withTurboJpeg(true);
        assertThat(turbo.jpegDecoder()).isEqualTo("libjpeg-turbo");
        assertThat(imageIo.jpegDecoder()).isEqualTo("imageio");
    }

    private static byte[] fixture(String name) throws Exception {
        return Files.readAllBytes(FIXTURES.resolve(name));
    }

    /** Pillow's decode, stored as an RGB PNG (PNG decoding is itself checked against Pillow elsewhere). */
    private static RgbImage pillow(String name) throws Exception {
        return new ImageDecoder().decode(fixture(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-420", "baseline-422", "baseline-444", "baseline-440", "baseline-411",
            "progressive-420", "restart-420", "grey", "arithmetic-420"})
    void exactDecodeIsPillows(String name) throws Exception {
        RgbImage decoded = turbo.decode(fixture(name + ".jpg"));
        assertThat(decoded.width()).isEqualTo(W);
        assertThat(decoded.height()).isEqualTo(H);
        assertThat(decoded.rgb()).isEqualTo(pillow(name + ".pillow.png").rgb());
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-420", "baseline-422", "baseline-444", "baseline-411", "progressive-420",
            "restart-420", "grey"})
    void imageIoGivesTheSamePixels(String name) throws Exception {
        byte[] jpeg = fixture(name + ".jpg");
        assertThat(imageIo.decode(jpeg).rgb()).isEqualTo(turbo.decode(jpeg).rgb());
    }

    /**
     * Where the JDK bundles IJG libjpeg 6b (e.g. Temurin) ImageIO cannot decode arithmetic coding and repeats 4:4:0
     * chroma rows (13121 of 15189 samples differ from Pillow on this fixture, by up to 27 levels); where it links the
     * system's libjpeg-turbo (Debian's OpenJDK, for one) it decodes both as Pillow does. libjpeg-turbo through
     * TurboJPEG always does.
     */
    @Test
    void on440AndArithmeticCodingLibjpegTurboIsPillowWhateverTheJdkBundles() throws Exception {
        byte[] arithmetic = fixture("arithmetic-420.jpg");
        byte[] subsampled440 = fixture("baseline-440.jpg");
        RgbImage pillow440 = pillow("baseline-440.pillow.png");
        assertThat(turbo.decode(arithmetic).rgb()).isEqualTo(pillow("arithmetic-420.pillow.png").rgb());
        assertThat(turbo.decode(subsampled440).rgb()).isEqualTo(pillow440.rgb());
        boolean imageIoHasLibjpegTurbo;
        try {
            assertThat(imageIo.decode(arithmetic).rgb()).isEqualTo(pillow("arithmetic-420.pillow.png").rgb());
            imageIoHasLibjpegTurbo = true;
        } catch (AnnotationException e) {
            assertThat(e.getMessage()).contains("arithmetic");
            imageIoHasLibjpegTurbo = false;
        }
        byte[] six = imageIo.decode(subsampled440).rgb();
        int differing = 0;
        int max = 0;
        for (int i = 0; i < six.length; i++) {
            int d = Math.abs((six[i] & 0xFF) - (pillow440.rgb()[i] & 0xFF));
            differing += d == 0 ? 0 : 1;
            max = Math.max(max, d);
        }
        if (imageIoHasLibjpegTurbo) {
            assertThat(differing).isZero();
        } else {
            assertThat(differing).isPositive();
            assertThat(max).isLessThanOrEqualTo(32);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-420", "baseline-422", "baseline-444", "baseline-440", "baseline-411",
            "progressive-420", "restart-420", "grey", "arithmetic-420"})
    void reducedScaleDecodeIsPillowsDraft(String name) throws Exception {
        ImageDecoder reduced = turbo.withFastJpegDownscale(true).withEighthScaleDecoder(false);
        byte[] jpeg = fixture(name + ".jpg");
        for (int s : new int[]{2, 4, 8}) {
            RgbImage decoded = reduced.decodeRows(jpeg, W / s, H / s).toImage();
            RgbImage draft = pillow(name + ".pillow-draft" + s + ".png");
            assertThat(new int[]{decoded.width(), decoded.height()}).as("1/%d", s)
                    .containsExactly(draft.width(), draft.height());
            assertThat(decoded.rgb()).as("1/%d", s).isEqualTo(draft.rgb());
        }
    }

    @Test
    void tinyImagesWhereAnotherScalingFactorWouldBeChosenStayExact() {
        TurboJpegDecoder decoder = TurboJpeg.required();
        assertThat(decoder.picksExactly(4000, 3000, 8)).isTrue();
        assertThat(decoder.picksExactly(640, 480, 2)).isTrue();
        assertThat(decoder.picksExactly(3, 3, 2)).as("5/8 also gives 2x2").isFalse();
    }

    @Test
    void truncatedOrDamagedJpegsAreCorrupt() throws Exception {
        byte[] jpeg = RandomImages.jpeg(4, 96, 64, 0.9f);
        byte[] halfThenEnd = Arrays.copyOf(jpeg, jpeg.length / 2 + 2);
        halfThenEnd[halfThenEnd.length - 2] = (byte) 0xFF;
        halfThenEnd[halfThenEnd.length - 1] = (byte) 0xD9;
        byte[] garbage = new byte[2000];
        new java.util.Random(3).nextBytes(garbage);
        garbage[0] = (byte) 0xFF;
        garbage[1] = (byte) 0xD8;
        garbage[2] = (byte) 0xFF;
        for (byte[] bad : List.of(Arrays.copyOf(jpeg, jpeg.length / 2), Arrays.copyOf(jpeg, jpeg.length - 2),
                Arrays.copyOf(jpeg, 300), Arrays.copyOf(jpeg, 4), halfThenEnd, garbage)) {
            assertThatThrownBy(() -> turbo.decode(bad)).isInstanceOf(AnnotationException.class)
                    .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_CORRUPT));
        }
        TurboJpegDecoder direct = TurboJpeg.required();
        assertThatThrownBy(() -> direct.decode(halfThenEnd, JpegStructure.Stored.YCBCR, (w, h) -> 1))
                .as("libjpeg-turbo's warning, made an error").isInstanceOf(AnnotationException.class)
                .hasMessageContaining("premature end of data segment");
        assertThatThrownBy(() -> direct.decode(Arrays.copyOf(jpeg, 300), JpegStructure.Stored.YCBCR, (w, h) -> 1))
                .isInstanceOf(AnnotationException.class).hasMessageContaining("corrupt or truncated");
        assertThat(turbo.decode(jpeg).width()).as("handles still work after failures").isEqualTo(96);
    }

    @Test
    void thePixelLimitIsCheckedFromTheHeader() throws Exception {
        byte[] jpeg = RandomImages.jpeg(4, 96, 64, 0.9f);
        assertThatThrownBy(() -> new ImageDecoder(1 << 20, 96 * 64 - 1).decode(jpeg))
                .isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_TOO_MANY_PIXELS));
        // A header claiming 60000x60000 (10.8 GB of RGB) with the data of a small image: refused before any buffer.
        byte[] bomb = jpeg.clone();
        int sof = sofOffset(bomb);
        bomb[sof + 5] = (byte) (60000 >> 8);
        bomb[sof + 6] = (byte) (60000 & 0xFF);
        bomb[sof + 7] = (byte) (60000 >> 8);
        bomb[sof + 8] = (byte) (60000 & 0xFF);
        assertThatThrownBy(() -> turbo.decode(bomb)).isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_TOO_MANY_PIXELS));
    }

    private static int sofOffset(byte[] b) {
        for (int i = 2; i + 1 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && ((b[i + 1] & 0xFF) == 0xC0 || (b[i + 1] & 0xFF) == 0xC2)) {
                return i;
            }
        }
        throw new AssertionError("no SOF marker");
    }

    @Test
    void manyThreadsShareTheHandlePool() throws Exception {
        TurboJpegDecoder decoder = TurboJpeg.required();
        List<byte[]> images = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            images.add(RandomImages.jpeg(i, 120 + i, 90, 0.9f));
            expected.add(turbo.decode(images.get(i)).rgb());
        }
        assertThat(TurboJpeg.allTrueOnThreads(8, first -> {
            for (int k = 0; k < 40; k++) {
                int i = (first + k) % images.size();
                if (!Arrays.equals(turbo.decode(images.get(i)).rgb(), expected.get(i))) {
                    return false;
                }
            }
            return true;
        })).isTrue();
        assertThat(decoder.idleHandles()).isBetween(1, Math.max(2, Runtime.getRuntime().availableProcessors()));
        assertThat(decoder.retainedBytes()).as("output buffers kept for the next images")
                .isBetween(3L * 120 * 90, TurboJpegDecoder.MAX_RETAINED_BYTES);
    }


    @Test
    void onlyEightBitDctJpegsInGreyYcbcrOrRgbGoToLibjpegTurbo() throws Exception {
        byte[] jpeg = RandomImages.jpeg(4, 32, 32, 0.9f);
        int sof = sofOffset(jpeg);
        assertThat(JpegStructure.parse(jpeg).turboDecodable()).isTrue();
        assertThat(JpegStructure.parse(fixture("grey.jpg")).turboDecodable()).isTrue();
        assertThat(JpegStructure.parse(fixture("arithmetic-420.jpg")).turboDecodable()).isTrue();
        byte[] fourChannel = jpeg.clone();
        fourChannel[sof + 9] = 4; // CMYK / YCCK (decoded and checked in ImageDecoderTest, through the default decoder)
        byte[] twelveBit = jpeg.clone();
        twelveBit[sof + 4] = 12;
        byte[] lossless = jpeg.clone();
        lossless[sof + 1] = (byte) 0xC3;
        for (byte[] other : List.of(fourChannel, twelveBit, lossless)) {
            assertThat(JpegStructure.parse(other).turboDecodable()).isFalse();
        }
    }
}
