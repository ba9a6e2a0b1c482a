package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.Thumbnail;
import dev.loupe.model.image.TurboJpegCompressor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contact sheet's thumbnails written with libjpeg-turbo's compressor are the JPEG ImageIO's writer makes at the
 * same settings: the same entropy-coded data (quality 80 tables, 4:2:0, accurate DCT, standard Huffman tables), so
 * the same pixels once decoded, at even and odd sizes (partial MCUs at the edges); only the headers differ.
 */
class ThumbnailsTest {
    @TempDir
    Path tmp;

    @Test
    void turboJpegWritesImageIOsJpegData() throws IOException {
        String unusable = TurboJpegCompressor.unusable();
        if (unusable != null) {
            // as the decoder's tests: CI (.ci/run) installs libturbojpeg0 and sets LOUPE_TURBOJPEG_REQUIRED=true
            assertThat("true".equalsIgnoreCase(System.getenv("LOUPE_TURBOJPEG_REQUIRED")))
                    .as("LOUPE_TURBOJPEG_REQUIRED=true but libturbojpeg's compressor is not usable: " + unusable).isFalse();
            Assumptions.abort("libturbojpeg is not usable here: " + unusable);
        }
        Random random = new Random(13);
        try (Thumbnails turbo = Thumbnails.open(); Thumbnails imageIO = Thumbnails.imageIO()) {
            assertThat(turbo.turboJpeg()).isTrue();
            assertThat(imageIO.turboJpeg()).isFalse();
            for (int[] size : new int[][] {{192, 144}, {144, 192}, {193, 145}, {64, 48}, {7, 5}, {1, 1}}) {
                Thumbnail t = photoLike(size[0], size[1], random);
                Path a = tmp.resolve("turbo-" + size[0] + "x" + size[1] + ".jpg");
                Path b = tmp.resolve("imageio-" + size[0] + "x" + size[1] + ".jpg");
                turbo.write(t, a);
                imageIO.write(t, b);
                byte[] turboBytes = Files.readAllBytes(a);
                byte[] imageIOBytes = Files.readAllBytes(b);
                assertThat(scan(turboBytes)).as("entropy-coded data at %dx%d", size[0], size[1])
                        .isEqualTo(scan(imageIOBytes));
                assertThat(rgb(a)).as("decoded pixels at %dx%d", size[0], size[1]).isEqualTo(rgb(b));
            }
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void rewritingReplacesTheFile() throws IOException {
        Path target = tmp.resolve("1.jpg");
        try (Thumbnails writer = Thumbnails.open()) {
            writer.write(photoLike(192, 144, new Random(1)), target);
            byte[] first = Files.readAllBytes(target);
            writer.write(photoLike(64, 48, new Random(2)), target);
            assertThat(Files.readAllBytes(target)).isNotEqualTo(first);
            BufferedImage decoded = ImageIO.read(target.toFile());
            assertThat(decoded.getWidth()).isEqualTo(64);
            assertThat(decoded.getHeight()).isEqualTo(48);
        }
    }

    /** Smooth gradients with noise: what a downscaled photo looks like to the encoder. */
    private static Thumbnail photoLike(int width, int height, Random random) {
        byte[] rgb = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = 3 * (y * width + x);
                rgb[i] = (byte) Math.min(255, Math.max(0, 255 * x / Math.max(1, width - 1) + random.nextInt(31) - 15));
                rgb[i + 1] = (byte) Math.min(255, Math.max(0, 255 * y / Math.max(1, height - 1) + random.nextInt(31) - 15));
                rgb[i + 2] = (byte) ((x * y + random.nextInt(64)) & 0xff);
            }
        }
        return new Thumbnail(width, height, rgb);
    }

    /** The bytes from the first start-of-scan marker's segment on (the scan header, entropy-coded data and EOI). */
    private static byte[] scan(byte[] jpeg) {
        int i = 2;
        while (i + 4 <= jpeg.length) {
            assertThat(jpeg[i] & 0xff).as("marker at %d", i).isEqualTo(0xff);
            int marker = jpeg[i + 1] & 0xff;
            if (marker == 0xda) {
                return Arrays.copyOfRange(jpeg, i, jpeg.length);
            }
            i += 2 + (((jpeg[i + 2] & 0xff) << 8) | (jpeg[i + 3] & 0xff));
        }
        throw new AssertionError("no start of scan");
    }

    private static int[] rgb(Path jpeg) throws IOException {
        BufferedImage image = ImageIO.read(jpeg.toFile());
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
