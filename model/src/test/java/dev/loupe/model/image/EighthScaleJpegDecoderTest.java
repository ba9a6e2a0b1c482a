package dev.loupe.model.image;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.tools.RandomImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java 1/8-scale decoder against Pillow's {@code draft} decodes of the cjpeg fixtures (no native library needed),
 * against libjpeg-turbo at 1/8 on generated images, and on damaged files, where it must either step aside or give
 * what libjpeg-turbo gives.
 */
class EighthScaleJpegDecoderTest {
    private static final Path FIXTURES = Path.of(System.getProperty("loupe.fixtures"), "jpeg-decoding");

    private static byte[] fixture(String name) throws Exception {
        return Files.readAllBytes(FIXTURES.resolve(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-420", "baseline-444", "restart-420", "grey"})
    void givesPillowsDraftPixels(String name) throws Exception {
        RgbRows rows = EighthScaleJpegDecoder.decode(fixture(name + ".jpg"));
        assertThat(rows).as("taken").isNotNull();
        RgbImage decoded = rows.toImage();
        RgbImage draft = new ImageDecoder().decode(fixture(name + ".pillow-draft8.png"));
        assertThat(new int[]{decoded.width(), decoded.height()}).containsExactly(draft.width(), draft.height());
        assertThat(decoded.rgb()).isEqualTo(draft.rgb());
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-422", "baseline-440", "baseline-411", "progressive-420", "arithmetic-420"})
    void leavesOtherLayoutsToTheUsualDecoder(String name) throws Exception {
        assertThat(EighthScaleJpegDecoder.decode(fixture(name + ".jpg"))).isNull();
        assertThat(EighthScaleJpegDecoder.size(fixture(name + ".jpg"))).isNull();
    }

    @Test
    void sameAsLibjpegTurboOnGeneratedImages() throws Exception {
        TurboJpegDecoder turbo = TurboJpeg.required();
        int[][] sizes = {{97, 61}, {200, 150}, {333, 222}, {640, 480}, {16, 16}, {8, 9}};
        float[] qualities = {0.3f, 0.75f, 0.9f, 1.0f};
        int seed = 0;
        for (int[] size : sizes) {
            for (float quality : qualities) {
                byte[] jpeg = RandomImages.jpeg(seed++, size[0], size[1], quality);
                assertSameAsTurbo(turbo, jpeg, JpegStructure.Stored.YCBCR, size[0] + "x" + size[1] + " q" + quality);
            }
            byte[] grey = greyJpeg(seed++, size[0], size[1]);
            assertSameAsTurbo(turbo, grey, JpegStructure.Stored.GREY, size[0] + "x" + size[1] + " grey");
        }
    }

    /**
     * Damaged copies of a file with restart markers (bytes flipped, cut short, bytes inserted): wherever this decoder
     * gives pixels, libjpeg-turbo (warnings being errors) gives the same pixels; everything it refuses goes to
     * libjpeg-turbo, whose verdict then stands.
     */
    @Test
    void damagedFilesEitherStepAsideOrDecodeAsLibjpegTurboDoes() throws Exception {
        TurboJpegDecoder turbo = TurboJpeg.required();
        byte[] restart = fixture("restart-420.jpg");
        byte[] plain = RandomImages.jpeg(7, 120, 88, 0.9f);
        Random random = new Random(11);
        int taken = 0;
        int refusedByTurbo = 0;
        for (byte[] original : new byte[][]{restart, plain}) {
            int scan = scanStart(original);
            for (int i = 0; i < 400; i++) {
                byte[] damaged = damage(original, scan, random);
                RgbRows mine = EighthScaleJpegDecoder.decode(damaged);
                RgbRows theirs;
                try {
                    theirs = turbo.decode(damaged, JpegStructure.Stored.YCBCR, (w, h) -> 8);
                } catch (AnnotationException e) {
                    refusedByTurbo++;
                    assertThat(mine).as("damage %d: libjpeg-turbo refuses it (%s)", i, e.getMessage()).isNull();
                    continue;
                }
                if (mine != null) {
                    taken++;
                    assertThat(mine.toImage().rgb()).as("damage %d", i).isEqualTo(theirs.toImage().rgb());
                }
            }
        }
        assertThat(taken).as("damage that libjpeg does not notice (flipped coefficient bits) is decoded").isPositive();
        assertThat(refusedByTurbo).isPositive();
    }

    @Test
    void theImageDecoderUsesItForReducedDecodesAndChecksThePixelLimitFirst() throws Exception {
        byte[] jpeg = RandomImages.jpeg(3, 640, 480, 0.9f);
        ImageDecoder reduced = new ImageDecoder().withFastJpegDownscale(true);
        RgbImage viaJava = reduced.decodeRows(jpeg, 80, 60).toImage();
        assertThat(viaJava.rgb()).isEqualTo(EighthScaleJpegDecoder.decode(jpeg).toImage().rgb());
        assertThat(new int[]{viaJava.width(), viaJava.height()}).containsExactly(80, 60);
        assertThat(reduced.decodeRows(jpeg, 81, 60).width).as("1/4: not this decoder's scale").isEqualTo(160);
        assertThatThrownBy(() -> new ImageDecoder(1 << 20, 640 * 480 - 1).withFastJpegDownscale(true)
                .decodeRows(jpeg, 80, 60))
                .isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_TOO_MANY_PIXELS));
        byte[] truncated = Arrays.copyOf(jpeg, jpeg.length / 2);
        assertThatThrownBy(() -> reduced.decodeRows(truncated, 80, 60)).isInstanceOf(AnnotationException.class)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(ErrorCode.IMAGE_CORRUPT));
    }

    private static void assertSameAsTurbo(TurboJpegDecoder turbo, byte[] jpeg, JpegStructure.Stored stored, String what)
            throws AnnotationException {
        RgbRows mine = EighthScaleJpegDecoder.decode(jpeg);
        assertThat(mine).as(what).isNotNull();
        RgbImage theirs = turbo.decode(jpeg, stored, (w, h) -> 8).toImage();
        RgbImage decoded = mine.toImage();
        assertThat(new int[]{decoded.width(), decoded.height()}).as(what)
                .containsExactly(theirs.width(), theirs.height());
        assertThat(decoded.rgb()).as(what).isEqualTo(theirs.rgb());
    }

    private static byte[] greyJpeg(long seed, int width, int height) throws Exception {
        BufferedImage colour = RandomImages.image(seed, width, height);
        BufferedImage grey = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        grey.getGraphics().drawImage(colour, 0, 0, null);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(grey, "jpeg", out);
        return out.toByteArray();
    }

    private static int scanStart(byte[] b) {
        for (int i = 2; i + 3 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xDA) {
                return i + 2 + (((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF));
            }
        }
        throw new AssertionError("no scan");
    }

    private static byte[] damage(byte[] original, int scan, Random random) {
        byte[] b = original.clone();
        int at = scan + random.nextInt(b.length - scan);
        switch (random.nextInt(5)) {
            case 0: // one bit flipped in the entropy-coded data
                b[at] ^= (byte) (1 << random.nextInt(8));
                return b;
            case 1: // a byte replaced, markers included
                b[at] = random.nextBoolean() ? (byte) 0xFF : (byte) random.nextInt(256);
                return b;
            case 2: // cut short, with or without an end-of-image marker after the cut
                byte[] cut = Arrays.copyOf(b, at + 2);
                if (random.nextBoolean()) {
                    cut[at] = (byte) 0xFF;
                    cut[at + 1] = (byte) 0xD9;
                }
                return cut;
            case 3: { // bytes inserted
                int n = 1 + random.nextInt(3);
                byte[] longer = new byte[b.length + n];
                System.arraycopy(b, 0, longer, 0, at);
                for (int i = 0; i < n; i++) {
                    longer[at + i] = (byte) random.nextInt(256);
                }
                System.arraycopy(b, at, longer, at + n, b.length - at);
                return longer;
            }
            default: { // a byte removed
                byte[] shorter = new byte[b.length - 1];
                System.arraycopy(b, 0, shorter, 0, at);
                System.arraycopy(b, at + 1, shorter, at, b.length - at - 1);
                return shorter;
            }
        }
    }
}
