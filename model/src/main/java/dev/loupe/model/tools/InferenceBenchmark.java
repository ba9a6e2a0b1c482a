package dev.loupe.model.tools;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Task;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Throughput and latency of a {@link BatchAnnotator} per batch size: every measured run generates exactly
 * {@code maxNewTokens} tokens per image (min_new_tokens = max_new_tokens, so an early end-of-sequence cannot
 * shorten it); the prefill (vision + Q-Former + LLM prefill and the first token) is timed by runs that generate
 * one token. Images are decoded and preprocessed once, outside the timed runs.
 */
public final class InferenceBenchmark {

    public record Settings(List<Integer> batchSizes, int maxNewTokens, int warmupRuns, int iterations, String prompt) {
        public Settings {
            Objects.requireNonNull(prompt, "prompt");
            batchSizes = List.copyOf(batchSizes);
            if (batchSizes.isEmpty() || batchSizes.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("batch sizes must be >= 1: " + batchSizes);
            }
            if (maxNewTokens < 1 || warmupRuns < 0 || iterations < 1) {
                throw new IllegalArgumentException("need max new tokens >= 1, warm-up runs >= 0, iterations >= 1");
            }
        }
    }

    /**
     * Figures for one batch size (means over the iterations). decodeMsPerStep is the time of one further token for
     * the whole batch: (full run - prefill run) / (maxNewTokens - 1), 0 when maxNewTokens is 1. cpuSecondsPerImage is
     * the process CPU time of the full runs per image: unlike wall time, it barely depends on other load on the host.
     */
    public record Result(int batchSize, int iterations, int newTokensPerImage, double batchSeconds,
                         double imagesPerSecond, double tokensPerSecond, double prefillMsPerImage,
                         double decodeMsPerStep, double cpuSecondsPerImage, long heapPeakBytes, long residentPeakBytes,
                         boolean residentPeakReset) {}

    /** What preparing the inputs cost: decode + resize + normalise, per image. */
    public record Preparation(int images, double preprocessMsPerImage) {}

    private final BatchAnnotator annotator;
    private final List<ImageTensor> pixels;
    private final Preparation preparation;

    private InferenceBenchmark(BatchAnnotator annotator, List<ImageTensor> pixels, Preparation preparation) {
        this.annotator = annotator;
        this.pixels = pixels;
        this.preparation = preparation;
    }

    /** Preprocesses the encoded images (cycled through when a batch is larger than the list). */
    public static InferenceBenchmark prepare(BatchAnnotator annotator, ImagePreprocessor preprocessor,
                                             List<byte[]> encodedImages) throws AnnotationException {
        if (encodedImages.isEmpty()) {
            throw new IllegalArgumentException("need at least one image");
        }
        List<ImageTensor> pixels = new ArrayList<>();
        long start = System.nanoTime();
        for (byte[] image : encodedImages) {
            pixels.add(preprocessor.preprocess(image));
        }
        double ms = (System.nanoTime() - start) / 1e6 / encodedImages.size();
        return new InferenceBenchmark(annotator, pixels, new Preparation(encodedImages.size(), ms));
    }

    public Preparation preparation() {
        return preparation;
    }

    public List<Result> run(Settings settings, Consumer<String> progress) throws IOException {
        List<Result> results = new ArrayList<>();
        GenerationConfig full = GenerationConfig.greedy(settings.maxNewTokens())
                .withMinNewTokens(settings.maxNewTokens());
        GenerationConfig prefill = GenerationConfig.greedy(1).withMinNewTokens(1);
        for (int batchSize : settings.batchSizes()) {
            List<AnnotationInput> fullBatch = batch(batchSize, settings.prompt(), full);
            List<AnnotationInput> prefillBatch = batch(batchSize, settings.prompt(), prefill);
            for (int w = 0; w < settings.warmupRuns(); w++) {
                timed(fullBatch, settings.maxNewTokens());
                timed(prefillBatch, 1);
            }
            boolean rssReset = ProcessResources.resetPeaks();
            double fullSum = 0;
            double cpuSum = 0;
            double prefillSum = 0;
            for (int i = 0; i < settings.iterations(); i++) {
                long cpuStart = ProcessResources.processCpuNanos();
                fullSum += timed(fullBatch, settings.maxNewTokens());
                cpuSum += (ProcessResources.processCpuNanos() - cpuStart) / 1e9;
                prefillSum += timed(prefillBatch, 1);
            }
            double fullMean = fullSum / settings.iterations();
            double prefillMean = prefillSum / settings.iterations();
            double decodeStep = settings.maxNewTokens() > 1
                    ? Math.max(0, fullMean - prefillMean) / (settings.maxNewTokens() - 1) * 1e3 : 0;
            Result r = new Result(batchSize, settings.iterations(), settings.maxNewTokens(), fullMean,
                    batchSize / fullMean, (double) batchSize * settings.maxNewTokens() / fullMean,
                    prefillMean / batchSize * 1e3, decodeStep,
                    cpuSum / settings.iterations() / batchSize, ProcessResources.heapPeakBytes(),
                    ProcessResources.residentPeakBytes(), rssReset);
            results.add(r);
            progress.accept(String.format("batch %d: %.2f images/s, %.1f tokens/s", batchSize, r.imagesPerSecond(),
                    r.tokensPerSecond()));
        }
        return results;
    }

    private List<AnnotationInput> batch(int size, String prompt, GenerationConfig generation) {
        List<AnnotationInput> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(new AnnotationInput("bench-" + i, pixels.get(i % pixels.size()), prompt, Task.CAPTION, List.of(),
                    generation));
        }
        return out;
    }

    /** Seconds for one annotate call; fails unless every row generated exactly tokens ids. */
    private double timed(List<AnnotationInput> batch, int tokens) throws IOException {
        long start = System.nanoTime();
        List<AnnotationOutcome> outcomes = annotator.annotate(batch);
        double seconds = (System.nanoTime() - start) / 1e9;
        for (AnnotationOutcome o : outcomes) {
            if (!o.isSuccess()) {
                throw new IOException("benchmark run failed: " + o.errorCode() + ": " + o.errorMessage());
            }
            if (o.annotation().tokenIds().length != tokens) {
                throw new IOException("a row generated " + o.annotation().tokenIds().length + " tokens, expected "
                        + tokens);
            }
        }
        return seconds;
    }
}
