package dev.loupe.model.tools;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ClipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.image.PillowResampler;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Image preprocessing speed on one thread: generated photo-like images (gradients plus noise) encoded as JPEG
 * (quality 90) and PNG, each decoded, resized and normalised to a BLIP 224x224 and a CLIP (LLaVA) 336x336 tensor,
 * on the exact (Pillow-parity) path and, for JPEGs, with reduced-scale decoding (its 1/8-scale decodes by the Java
 * decoder, as by default, and by the JPEG decoder itself: {@link #REDUCED_BY_LIBRARY}); JPEGs with each available
 * decoder (libjpeg-turbo where installed, and ImageIO), side by side. Reports milliseconds per image.
 */
public final class PreprocessBenchmark {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    /**
     * The reduced path with 1/8-scale decodes left to the JPEG decoder itself (libjpeg-turbo's DCT scaling, ImageIO's
     * subsampling) instead of the Java {@code EighthScaleJpegDecoder}: the reduced path before that decoder.
     */
    public static final String REDUCED_BY_LIBRARY = "reduced-library-1/8";

    private PreprocessBenchmark() {}

    /**
     * The image sizes; {@code warmup} and {@code iterations} images are processed per 640x480 case (see {@link #run});
     * the generated images are
     * also written to {@code saveDir} when it is not null (e.g. to time another implementation on the same bytes).
     */
    public record Settings(List<int[]> sizes, int warmup, int iterations, long seed, Path saveDir) {
        public Settings {
            Objects.requireNonNull(sizes, "sizes");
            if (sizes.isEmpty()) {
                throw new IllegalArgumentException("give at least one image size");
            }
            for (int[] s : sizes) {
                if (s.length != 2 || s[0] < 1 || s[1] < 1) {
                    throw new IllegalArgumentException("image sizes must be positive WIDTHxHEIGHT, got " + Arrays.toString(s));
                }
            }
            if (warmup < 0 || iterations < 1) {
                throw new IllegalArgumentException("need warmup >= 0 and iterations >= 1, got " + warmup + ", " + iterations);
            }
        }
    }

    /**
     * One measured case: the JPEG decoder ("libjpeg-turbo" or "imageio"; "imageio" for PNGs), mean and fastest
     * milliseconds per image, the thread's CPU milliseconds per image (user + system: on a machine shared with other
     * work it moves far less than the wall-clock time), the tensor's shape (channels, height, width) and, for JPEGs, its largest and mean
     * absolute difference from the default decoder's exact tensor in 8-bit levels (the tensor difference times 255 x
     * std: 1.0 is one step of a 0..255 sample; 0 on an exact path that agrees with it).
     */
    public record Result(String format, int width, int height, int encodedBytes, String processor, String decoder,
                         String path, int iterations, double meanMs, double minMs, double cpuMs, int[] shape,
                         double maxLevelDiff,
                         double meanLevelDiff) {}

    private record Case(String format, int[] size, byte[] image, String processor, String decoder, String path,
                        ImagePreprocessor p, ImageTensor reference) {
        /** {@code n} for a 640x480 image, proportionally fewer for larger ones (at least {@code min}). */
        int scaled(int n, int min) {
            double factor = Math.min(1.0, 640.0 * 480 / ((double) size[0] * size[1]));
            return Math.min(n, Math.max(min, (int) Math.round(n * factor)));
        }
    }

    /**
     * Warms every case up first (the JIT compiles code that all cases share), then measures each; images larger
     * than 640x480 get proportionally fewer warm-up and measured runs (at least 2 and 5).
     */
    public static List<Result> run(Settings settings) throws IOException, AnnotationException {
        ImageDecoder standard = new ImageDecoder();
        ImageDecoder imageIo = standard.withTurboJpeg(false);
        List<ImageDecoder> jpegDecoders = standard == imageIo ? List.of(standard) : List.of(standard, imageIo);
        List<Case> cases = new ArrayList<>();
        for (int[] size : settings.sizes()) {
            for (String format : List.of("jpeg", "png")) {
                byte[] image = format.equals("jpeg")
                        ? RandomImages.jpeg(settings.seed(), size[0], size[1], 0.9f)
                        : RandomImages.png(settings.seed(), size[0], size[1]);
                if (settings.saveDir() != null) {
                    Files.createDirectories(settings.saveDir());
                    Files.write(settings.saveDir().resolve(size[0] + "x" + size[1] + "." + (format.equals("jpeg") ? "jpg" : "png")), image);
                }
                for (String processor : List.of("blip-224", "clip-336")) {
                    if (!format.equals("jpeg")) {
                        cases.add(new Case(format, size, image, processor, "imageio", "exact",
                                preprocessor(processor, standard), null));
                        continue;
                    }
                    ImageTensor reference = preprocessor(processor, standard).preprocess(image);
                    for (ImageDecoder d : jpegDecoders) {
                        cases.add(new Case(format, size, image, processor, d.jpegDecoder(), "exact",
                                preprocessor(processor, d), reference));
                        cases.add(new Case(format, size, image, processor, d.jpegDecoder(), "reduced",
                                preprocessor(processor, d.withFastJpegDownscale(true)), reference));
                        cases.add(new Case(format, size, image, processor, d.jpegDecoder(), REDUCED_BY_LIBRARY,
                                preprocessor(processor, d.withFastJpegDownscale(true).withEighthScaleDecoder(false)),
                                reference));
                    }
                }
            }
        }
        for (Case c : cases) {
            for (int i = c.scaled(settings.warmup(), Math.min(2, settings.warmup())); i > 0; i--) {
                c.p().preprocess(c.image());
            }
        }
        List<Result> results = new ArrayList<>();
        for (Case c : cases) {
            results.add(measure(c, c.scaled(settings.iterations(), Math.min(5, settings.iterations()))));
        }
        return results;
    }

    private static ImagePreprocessor preprocessor(String name, ImageDecoder decoder) {
        if (name.equals("blip-224")) {
            return new BlipImageProcessor(decoder, 224, 224, true, PillowResampler.Filter.BICUBIC, true, 1 / 255.0, true,
                    CLIP_MEAN, CLIP_STD);
        }
        return new ClipImageProcessor(decoder, true, 336, 0, 0, PillowResampler.Filter.BICUBIC, true, 336, 336, true,
                1 / 255.0, true, CLIP_MEAN, CLIP_STD);
    }

    private static Result measure(Case c, int iterations) throws AnnotationException {
        ImageTensor t = null;
        long total = 0;
        long min = Long.MAX_VALUE;
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            t = c.p().preprocess(c.image());
            long dt = System.nanoTime() - t0;
            total += dt;
            min = Math.min(min, dt);
        }
        long cpu = THREADS.getCurrentThreadCpuTime() - cpu0;
        double[] diff = c.reference() == null ? new double[2] : levelDiff(t, c.reference());
        return new Result(c.format(), c.size()[0], c.size()[1], c.image().length, c.processor(), c.decoder(), c.path(),
                iterations,
                total / 1e6 / iterations, min / 1e6, cpu / 1e6 / iterations, new int[]{t.channels(), t.height(), t.width()}, diff[0], diff[1]);
    }

    /** Largest and mean absolute difference of two tensors of the same shape, in 8-bit levels. */
    public static double[] levelDiff(ImageTensor a, ImageTensor b) {
        float[] x = a.chw();
        float[] y = b.chw();
        if (x.length != y.length) {
            throw new IllegalArgumentException("tensor sizes differ: " + x.length + ", " + y.length);
        }
        int plane = x.length / 3;
        double max = 0;
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            double d = Math.abs((double) x[i] - y[i]) * 255 * CLIP_STD[i / plane];
            max = Math.max(max, d);
            sum += d;
        }
        return new double[]{max, sum / x.length};
    }
}
