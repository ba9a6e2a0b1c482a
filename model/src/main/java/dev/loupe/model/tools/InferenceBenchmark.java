package dev.loupe.model.tools;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Task;
import dev.loupe.model.vlm.PrefixLanguageModelAnnotator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Throughput and latency of a {@link BatchAnnotator} per batch size: every measured run generates exactly its
 * token count per image (min_new_tokens = max_new_tokens, so an early end-of-sequence cannot shorten it): the same
 * {@code maxNewTokens} for every image, or with a length mix, image {@code i} takes the mix's
 * {@code i mod size}-th count and a run is {@code batchSize * mix size} images, so the mix cycles through every
 * batch. With {@link Scheduling#STATIC} a run is batches of {@code batchSize} through {@link BatchAnnotator#annotate};
 * with {@link Scheduling#CONTINUOUS} it is one {@link BatchAnnotator#annotateContinuously} call with
 * {@code batchSize} active rows. The prefill (vision + Q-Former + LLM prefill and the first token) is timed by
 * static runs that generate one token. Images are decoded and preprocessed once, outside the timed runs.
 */
public final class InferenceBenchmark {

    /** Which generation loop a run uses. */
    public enum Scheduling {
        /** Batches formed before generation: every row of a batch waits for its longest member. */
        STATIC,
        /**
         * Rows join and leave the decoding batch step by step (the image side of waiting rows as the process's
         * {@link PrefixLanguageModelAnnotator#PREFIXES_IN_BACKGROUND} says: by default on a background thread).
         */
        CONTINUOUS,
        /**
         * As {@link #CONTINUOUS}, the image side of waiting rows built on a background thread in the idle scheduling
         * class while rows decode ({@link PrefixLanguageModelAnnotator#PREFIXES_IN_BACKGROUND} true).
         */
        CONTINUOUS_OVERLAP,
        /**
         * As {@link #CONTINUOUS}, every group's image side built on the loop's thread when admission needs it
         * ({@link PrefixLanguageModelAnnotator#PREFIXES_IN_BACKGROUND} false).
         */
        CONTINUOUS_ON_LOOP;

        public static Scheduling parse(String s) {
            try {
                return valueOf(s.trim().replace('-', '_').toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("scheduling must be static, continuous, continuous-overlap or "
                        + "continuous-on-loop, got '"
                        + s + "'");
            }
        }

        /** The name as the command line takes it. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * @param lengthMix   new-token counts the images take in turn (empty: every image generates maxNewTokens)
     * @param schedulings the generation loops measured; with several, their runs alternate (iteration by iteration,
     *                    on the same inputs), so that a change of load on the host affects them alike
     */
    public record Settings(List<Integer> batchSizes, int maxNewTokens, int warmupRuns, int iterations, String prompt,
                           List<Integer> lengthMix, List<Scheduling> schedulings) {
        public Settings {
            Objects.requireNonNull(prompt, "prompt");
            batchSizes = List.copyOf(batchSizes);
            lengthMix = List.copyOf(lengthMix);
            schedulings = List.copyOf(new java.util.LinkedHashSet<>(schedulings));
            if (schedulings.isEmpty()) {
                throw new IllegalArgumentException("name at least one scheduling");
            }
            if (batchSizes.isEmpty() || batchSizes.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("batch sizes must be >= 1: " + batchSizes);
            }
            if (maxNewTokens < 1 || warmupRuns < 0 || iterations < 1) {
                throw new IllegalArgumentException("need max new tokens >= 1, warm-up runs >= 0, iterations >= 1");
            }
            if (lengthMix.stream().anyMatch(n -> n < 1)) {
                throw new IllegalArgumentException("length mix counts must be >= 1: " + lengthMix);
            }
        }

        /** Every image generates maxNewTokens, in static batches. */
        public Settings(List<Integer> batchSizes, int maxNewTokens, int warmupRuns, int iterations, String prompt) {
            this(batchSizes, maxNewTokens, warmupRuns, iterations, prompt, List.of(), List.of(Scheduling.STATIC));
        }

        /** The new-token count of image {@code i} of a run. */
        int tokensOf(int i) {
            return lengthMix.isEmpty() ? maxNewTokens : lengthMix.get(i % lengthMix.size());
        }

        /** Images in one run of a batch size. */
        int imagesPerRun(int batchSize) {
            return batchSize * Math.max(1, lengthMix.size());
        }
    }

    /**
     * Figures for one batch size (means over the iterations). decodeMsPerStep is the time of one further token for
     * the whole batch: (full run - prefill run) / (maxNewTokens - 1), 0 when maxNewTokens is 1, NaN with a length
     * mix. cpuSecondsPerImage is the process CPU time of the full runs per image: unlike wall time, it barely depends
     * on other load on the host. msToResultByLength: per new-token count, the mean time from a run's start to the
     * image's outcome. split: where the measured runs' time went ({@link BatchAnnotator#generationSplit}), summed
     * over the iterations. hostTraffic: what the device-bound runner moved between host and device during the measured
     * runs of this batch size (all schedulings; {@link HostTrafficStats#NONE} for the Java-API runner).
     */
    public record Result(int batchSize, int iterations, double newTokensPerImage, double batchSeconds,
                         double imagesPerSecond, double tokensPerSecond, double prefillMsPerImage,
                         double decodeMsPerStep, double cpuSecondsPerImage, long heapPeakBytes, long residentPeakBytes,
                         boolean residentPeakReset, int imagesPerRun, Scheduling scheduling,
                         java.util.SortedMap<Integer, Double> msToResultByLength, GenerationSplit split,
                         HostTrafficStats hostTraffic) {}

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

    /** Encoded images by index, made on request (e.g. drawn from a seed), so that none need stay in memory. */
    @FunctionalInterface
    public interface EncodedImages {
        byte[] image(int index) throws IOException;
    }

    /**
     * Preprocesses {@code count} images, each encoded image asked for in turn and dropped once preprocessed: the
     * runs hold only the model inputs, as a job holds a batch's, not the encoded files besides (16 PNGs of 640 x 480
     * noise are 12 MiB of the Java heap for the whole benchmark). Only preprocessing is timed.
     */
    public static InferenceBenchmark prepare(BatchAnnotator annotator, ImagePreprocessor preprocessor, int count,
                                             EncodedImages encodedImages) throws AnnotationException, IOException {
        if (count < 1) {
            throw new IllegalArgumentException("need at least one image");
        }
        List<ImageTensor> pixels = new ArrayList<>(count);
        long nanos = 0;
        for (int i = 0; i < count; i++) {
            byte[] image = encodedImages.image(i);
            long start = System.nanoTime();
            pixels.add(preprocessor.preprocess(image));
            nanos += System.nanoTime() - start;
        }
        return new InferenceBenchmark(annotator, pixels, new Preparation(count, nanos / 1e6 / count));
    }

    public Preparation preparation() {
        return preparation;
    }

    public List<Result> run(Settings settings, Consumer<String> progress) throws IOException {
        List<Result> results = new ArrayList<>();
        for (int batchSize : settings.batchSizes()) {
            int images = settings.imagesPerRun(batchSize);
            List<AnnotationInput> fullRun = new ArrayList<>(images);
            List<AnnotationInput> prefillRun = new ArrayList<>(images);
            int tokens = 0;
            for (int i = 0; i < images; i++) {
                int n = settings.tokensOf(i);
                tokens += n;
                fullRun.add(input(i, settings.prompt(), GenerationConfig.greedy(n).withMinNewTokens(n)));
                prefillRun.add(input(i, settings.prompt(), GenerationConfig.greedy(1).withMinNewTokens(1)));
            }
            double[] finished = new double[images];
            for (int w = 0; w < settings.warmupRuns(); w++) {
                for (Scheduling scheduling : settings.schedulings()) {
                    timed(fullRun, batchSize, scheduling, finished);
                }
                timed(prefillRun, batchSize, Scheduling.STATIC, finished);
            }
            boolean rssReset = ProcessResources.resetPeaks();
            HostTrafficStats trafficBefore = annotator.hostTraffic();
            int loops = settings.schedulings().size();
            double[] fullSum = new double[loops];
            double[] cpuSum = new double[loops];
            GenerationSplit[] splits = new GenerationSplit[loops];
            java.util.Arrays.fill(splits, GenerationSplit.NONE);
            double prefillSum = 0;
            List<java.util.SortedMap<Integer, Double>> latency = new ArrayList<>();
            java.util.Map<Integer, Integer> counted = new java.util.HashMap<>();
            for (int l = 0; l < loops; l++) {
                latency.add(new java.util.TreeMap<>());
            }
            for (int i = 0; i < settings.iterations(); i++) {
                for (int l = 0; l < loops; l++) {
                    long cpuStart = ProcessResources.processCpuNanos();
                    GenerationSplit before = annotator.generationSplit();
                    fullSum[l] += timed(fullRun, batchSize, settings.schedulings().get(l), finished);
                    cpuSum[l] += (ProcessResources.processCpuNanos() - cpuStart) / 1e9;
                    splits[l] = splits[l].plus(annotator.generationSplit().minus(before));
                    for (int k = 0; k < images; k++) {
                        latency.get(l).merge(settings.tokensOf(k), finished[k] * 1e3, Double::sum);
                        if (l == 0) {
                            counted.merge(settings.tokensOf(k), 1, Integer::sum);
                        }
                    }
                }
                prefillSum += timed(prefillRun, batchSize, Scheduling.STATIC, finished);
            }
            double prefillMean = prefillSum / settings.iterations();
            HostTrafficStats traffic = annotator.hostTraffic().since(trafficBefore);
            for (int l = 0; l < loops; l++) {
                latency.get(l).replaceAll((length, sum) -> sum / counted.get(length));
                double fullMean = fullSum[l] / settings.iterations();
                double decodeStep = !settings.lengthMix().isEmpty() ? Double.NaN : settings.maxNewTokens() > 1
                        ? Math.max(0, fullMean - prefillMean) / (settings.maxNewTokens() - 1) * 1e3 : 0;
                Result r = new Result(batchSize, settings.iterations(), (double) tokens / images, fullMean,
                        images / fullMean, tokens / fullMean, prefillMean / images * 1e3, decodeStep,
                        cpuSum[l] / settings.iterations() / images, ProcessResources.heapPeakBytes(),
                        ProcessResources.residentPeakBytes(), rssReset, images, settings.schedulings().get(l),
                        latency.get(l), splits[l], traffic);
                results.add(r);
                progress.accept(String.format("batch %d (%s, %d images): %.2f images/s, %.1f tokens/s", batchSize,
                        r.scheduling().label(), images, r.imagesPerSecond(),
                        r.tokensPerSecond()));
            }
        }
        return results;
    }

    private AnnotationInput input(int i, String prompt, GenerationConfig generation) {
        return new AnnotationInput("bench-" + i, pixels.get(i % pixels.size()), prompt, Task.CAPTION, List.of(),
                generation);
    }

    /**
     * Seconds for one run of {@code inputs}, {@code finished[i]} set to the seconds until input i's outcome; fails
     * unless every row generated exactly its max_new_tokens ids.
     */
    private double timed(List<AnnotationInput> inputs, int batchSize, Scheduling scheduling, double[] finished)
            throws IOException {
        AnnotationOutcome[] outcomes = new AnnotationOutcome[inputs.size()];
        long start = System.nanoTime();
        BatchAnnotator.OutcomeListener listener = (index, outcome) -> {
            finished[index] = (System.nanoTime() - start) / 1e9;
            outcomes[index] = outcome;
        };
        if (scheduling == Scheduling.CONTINUOUS) {
            annotator.annotateContinuously(inputs, batchSize, listener);
        } else if (scheduling == Scheduling.CONTINUOUS_OVERLAP || scheduling == Scheduling.CONTINUOUS_ON_LOOP) {
            String before = System.setProperty(PrefixLanguageModelAnnotator.PREFIXES_IN_BACKGROUND,
                    String.valueOf(scheduling == Scheduling.CONTINUOUS_OVERLAP));
            try {
                annotator.annotateContinuously(inputs, batchSize, listener);
            } finally {
                if (before == null) {
                    System.clearProperty(PrefixLanguageModelAnnotator.PREFIXES_IN_BACKGROUND);
                } else {
                    System.setProperty(PrefixLanguageModelAnnotator.PREFIXES_IN_BACKGROUND, before);
                }
            }
        } else {
            for (int from = 0; from < inputs.size(); from += batchSize) {
                List<AnnotationOutcome> out = annotator.annotate(
                        inputs.subList(from, Math.min(inputs.size(), from + batchSize)));
                for (int k = 0; k < out.size(); k++) {
                    listener.outcome(from + k, out.get(k));
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        for (int i = 0; i < outcomes.length; i++) {
            AnnotationOutcome o = outcomes[i];
            if (o == null || !o.isSuccess()) {
                throw new IOException("benchmark run failed: "
                        + (o == null ? "no outcome for image " + i : o.errorCode() + ": " + o.errorMessage()));
            }
            int expected = inputs.get(i).generation().maxNewTokens();
            if (o.annotation().tokenIds().length != expected) {
                throw new IOException("a row generated " + o.annotation().tokenIds().length + " tokens, expected "
                        + expected);
            }
        }
        return seconds;
    }
}
