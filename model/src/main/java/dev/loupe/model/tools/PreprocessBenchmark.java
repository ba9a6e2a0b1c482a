package dev.loupe.model.tools;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ClipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.image.PillowResampler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Image preprocessing speed on one thread: generated photo-like images (gradients plus noise) encoded as JPEG
 * (quality 90) and PNG, each decoded, resized and normalised to a BLIP 224x224 and a CLIP (LLaVA) 336x336 tensor,
 * on the exact (Pillow-parity) path and, for JPEGs, with reduced-scale decoding. Reports milliseconds per image.
 */
public final class PreprocessBenchmark {
    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    private PreprocessBenchmark() {}

    /** One image size; {@code warmup} and {@code iterations} images are processed per case. */
    public record Settings(List<int[]> sizes, int warmup, int iterations, long seed) {
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
     * One measured case: mean and fastest milliseconds per image, the tensor's shape (channels, height, width) and,
     * for the reduced path, its largest and mean absolute difference from the exact path's tensor in 8-bit levels
     * (the tensor difference times 255 x std: 1.0 is one step of a 0..255 sample; 0 on the exact path).
     */
    public record Result(String format, int width, int height, int encodedBytes, String processor, String path,
                         int iterations, double meanMs, double minMs, int[] shape, double maxLevelDiff,
                         double meanLevelDiff) {}

    public static List<Result> run(Settings settings) throws IOException, AnnotationException {
        ImageDecoder exact = new ImageDecoder();
        ImageDecoder reduced = exact.withFastJpegDownscale(true);
        List<Result> results = new ArrayList<>();
        for (int[] size : settings.sizes()) {
            for (String format : List.of("jpeg", "png")) {
                byte[] image = format.equals("jpeg")
                        ? RandomImages.jpeg(settings.seed(), size[0], size[1], 0.9f)
                        : RandomImages.png(settings.seed(), size[0], size[1]);
                for (String processor : List.of("blip-224", "clip-336")) {
                    ImagePreprocessor exactPath = preprocessor(processor, exact);
                    results.add(measure(settings, format, size, image, processor, "exact", exactPath, null));
                    if (format.equals("jpeg")) {
                        results.add(measure(settings, format, size, image, processor, "reduced",
                                preprocessor(processor, reduced), exactPath.preprocess(image)));
                    }
                }
            }
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

    private static Result measure(Settings s, String format, int[] size, byte[] image, String processor, String path,
                                  ImagePreprocessor p, ImageTensor reference) throws AnnotationException {
        ImageTensor t = null;
        for (int i = 0; i < s.warmup(); i++) {
            t = p.preprocess(image);
        }
        long total = 0;
        long min = Long.MAX_VALUE;
        for (int i = 0; i < s.iterations(); i++) {
            long t0 = System.nanoTime();
            t = p.preprocess(image);
            long dt = System.nanoTime() - t0;
            total += dt;
            min = Math.min(min, dt);
        }
        double[] diff = reference == null ? new double[2] : levelDiff(t, reference);
        return new Result(format, size[0], size[1], image.length, processor, path, s.iterations(),
                total / 1e6 / s.iterations(), min / 1e6, new int[]{t.channels(), t.height(), t.width()}, diff[0], diff[1]);
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
