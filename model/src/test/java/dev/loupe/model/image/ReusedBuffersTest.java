package dev.loupe.model.image;

import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.tools.RandomImages;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The buffers the preprocessing path reuses (libjpeg-turbo's native output read in place, the thread's heap copy of
 * it, the resampler's per-thread horizontal-pass buffer) give the values a fresh decode and resize on a fresh thread
 * give: across images of different sizes in any order, from several threads at once, and never after the rows were
 * handed back.
 */
class ReusedBuffersTest {
    private static final double[] MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] STD = {0.26862954, 0.26130258, 0.27577711};

    private ImageDecoder decoder;
    private BlipImageProcessor blip;
    private final List<byte[]> images = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        TurboJpeg.required();
        decoder = new ImageDecoder().withTurboJpeg(true);
        blip = new BlipImageProcessor(decoder, 224, 224, true, PillowResampler.Filter.BICUBIC, true, 1.0 / 255, true,
                MEAN, STD);
        // Larger, smaller, then larger again than the buffers kept so far; one narrower than the model input (a
        // vertical-only pass), one grey.
        int[][] sizes = {{640, 480}, {97, 61}, {1500, 1100}, {224, 500}, {300, 224}, {640, 480}};
        for (int i = 0; i < sizes.length; i++) {
            images.add(RandomImages.jpeg(30 + i, sizes[i][0], sizes[i][1], 0.9f));
        }
        images.add(greyJpeg());
    }

    private static byte[] greyJpeg() throws Exception {
        java.awt.image.BufferedImage grey = new java.awt.image.BufferedImage(211, 157,
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        grey.getGraphics().drawImage(RandomImages.image(7, 211, 157), 0, 0, null);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertThat(javax.imageio.ImageIO.write(grey, "jpeg", out)).isTrue();
        return out.toByteArray();
    }

    /** What a thread that has never decoded or resized computes: heap decode, fresh buffers. */
    private static <T> T onFreshThread(Callable<T> work) throws Exception {
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            return thread.submit(work).get();
        } finally {
            thread.shutdown();
        }
    }

    private List<float[]> referenceTensors() throws Exception {
        List<float[]> expected = new ArrayList<>();
        for (byte[] image : images) {
            expected.add(onFreshThread(() -> blip.toTensor(decoder.decode(image)).chw()));
        }
        return expected;
    }

    @Test
    void imagesOfChangingSizesOnOneThreadGiveFreshThreadValues() throws Exception {
        List<float[]> expected = referenceTensors();
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < images.size(); i++) {
                assertThat(blip.preprocess(images.get(i)).chw()).as("image %d, pass %d", i, pass)
                        .isEqualTo(expected.get(i));
            }
        }
        for (int i = images.size() - 1; i >= 0; i--) {
            assertThat(blip.preprocess(images.get(i)).chw()).as("image %d, reversed", i).isEqualTo(expected.get(i));
        }
    }

    @Test
    void thumbnailsFromReusedRowsAreThoseOfAHeapDecode() throws Exception {
        for (byte[] image : images) {
            RgbImage decoded = onFreshThread(() -> decoder.decode(image));
            RgbImage sized = onFreshThread(() -> new PillowResampler(PillowResampler.Filter.BICUBIC)
                    .resize(decoded, 224, 224));
            for (int side : new int[]{48, 192, 400}) {
                ImagePreprocessor.Preprocessed p = blip.preprocessWithThumbnail(image, side);
                var expected = onFreshThread(() -> Thumbnails.of(RgbRows.of(decoded), sized, side));
                assertThat(p.thumbnail().rgb()).as("thumbnail %d of a %dx%d image", side, decoded.width(),
                        decoded.height()).isEqualTo(expected.rgb());
            }
        }
    }

    @Test
    void twoThreadsAtOnceGiveTheSameValues() throws Exception {
        List<float[]> expected = referenceTensors();
        assertThat(TurboJpeg.allTrueOnThreads(2, first -> {
            for (int k = 0; k < 30; k++) {
                int i = (first * 3 + k) % images.size();
                if (!Arrays.equals(blip.preprocess(images.get(i)).chw(), expected.get(i))) {
                    return false;
                }
            }
            return true;
        })).isTrue();
    }

    @Test
    void rowsKeptPastTheirReaderCannotBeRead() throws Exception {
        RgbRows kept = decoder.decodeRows(images.get(0), 0, 0, rows -> rows);
        assertThatThrownBy(() -> kept.row(0, new byte[3 * kept.width], 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(kept::array).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(kept::toImage).isInstanceOf(IllegalStateException.class);
        RgbRows copied = decoder.decodeRows(images.get(0));
        assertThat(copied.toImage().rgb()).isEqualTo(decoder.decode(images.get(0)).rgb());
    }

    @Test
    void aDecodeNestedInAReaderLeavesTheOuterRowsIntact() throws Exception {
        byte[] outer = images.get(0);
        byte[] inner = images.get(5); // the same size: it would land in the same reused array
        RgbImage expectedOuter = decoder.decode(outer);
        RgbImage expectedInner = decoder.decode(RandomImages.jpeg(35, 640, 480, 0.9f));
        decoder.decodeRows(outer, 0, 0, rows -> {
            byte[] before = Arrays.copyOf(rows.array(), 3 * rows.width * rows.height);
            RgbImage nested = decoder.decodeRows(inner, 0, 0, r -> {
                r.array();
                return r.toImage();
            });
            assertThat(nested.rgb()).isEqualTo(expectedInner.rgb());
            assertThat(Arrays.copyOf(rows.array(), before.length)).isEqualTo(before).isEqualTo(expectedOuter.rgb());
            return nested;
        });
    }

    @Test
    void theClipProcessorReadsReusedRowsAsItsHeapPath() throws Exception {
        ClipImageProcessor clip = new ClipImageProcessor(decoder, true, 336, 0, 0, PillowResampler.Filter.BICUBIC,
                true, 336, 336, true, 1.0 / 255, true, MEAN, STD);
        for (byte[] image : images) {
            ImageTensor fresh = onFreshThread(() -> clip.toTensor(decoder.decode(image)));
            assertThat(clip.preprocess(image).chw()).isEqualTo(fresh.chw());
        }
    }
}
