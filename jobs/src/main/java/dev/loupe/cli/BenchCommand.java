package dev.loupe.cli;

import dev.loupe.model.files.FileTrees;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.tools.InferenceBenchmark;
import dev.loupe.model.tools.ProcessResources;
import dev.loupe.model.tools.RandomImages;
import dev.loupe.model.tools.RandomInstructBlipCheckpoint;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe bench}: images/s, generated tokens/s, prefill time per image and peak memory per batch size, on a
 * model directory or on a random-weight checkpoint of given dimensions generated on the spot (no download).
 * {@code loupe bench soak} ({@link SoakCommand}) soaks the whole streaming job instead; {@code loupe bench preprocess}
 * ({@link PreprocessBenchCommand}) times image preprocessing alone.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false, subcommands = {SoakCommand.class, PreprocessBenchCommand.class},
        description = "Throughput and latency per batch size (images/s, tokens/s, prefill ms/image, peak memory); "
                + "'bench soak': a soak run of the streaming job; 'bench preprocess': image preprocessing ms/image.")
public final class BenchCommand implements Callable<Integer>, RuntimeCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RandomInstructBlipCheckpoint.Dims D = RandomInstructBlipCheckpoint.Dims.benchmark();

    @Option(names = "--model", description = "Model package or Hugging Face checkpoint directory.")
    Path model;

    @Option(names = "--random-checkpoint", description = "Generate a random-weight InstructBLIP-Vicuna checkpoint "
            + "with the dimensions below (defaults: the benchmark model of docs/benchmarks.md) and benchmark it.")
    boolean randomCheckpoint;

    @Option(names = "--batch-sizes", split = ",", defaultValue = "1,4,8,16", description = "Default ${DEFAULT-VALUE}.")
    List<Integer> batchSizes;

    @Option(names = "--max-new-tokens", defaultValue = "20",
            description = "Tokens generated per image, exactly (min = max). Default ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--warmup", defaultValue = "1", description = "Warm-up runs per batch size. Default ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--iterations", defaultValue = "3", description = "Measured runs per batch size. Default ${DEFAULT-VALUE}.")
    int iterations;

    @Option(names = "--prompt", description = "Prompt (default: the caption template).")
    String prompt;



    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights and images.")
    long seed;

    @Option(names = "--work-dir", description = "Where the random checkpoint and its package go (kept); "
            + "default: a temporary directory, deleted afterwards.")
    Path workDir;

    @Option(names = "--image-size", defaultValue = "" + 224, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int imageSize;
    @Option(names = "--patch-size", defaultValue = "" + 14, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int patchSize;
    @Option(names = "--vision-width", defaultValue = "" + 384, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int visionWidth;
    @Option(names = "--vision-layers", defaultValue = "" + 6, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int visionLayers;
    @Option(names = "--vision-heads", defaultValue = "" + 6, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int visionHeads;
    @Option(names = "--vision-mlp", defaultValue = "" + 1536, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int visionMlp;
    @Option(names = "--qformer-width", defaultValue = "" + 384, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int qformerWidth;
    @Option(names = "--qformer-layers", defaultValue = "" + 4, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int qformerLayers;
    @Option(names = "--qformer-heads", defaultValue = "" + 6, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int qformerHeads;
    @Option(names = "--qformer-mlp", defaultValue = "" + 1536, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int qformerMlp;
    @Option(names = "--qformer-vocab", defaultValue = "" + 30523, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int qformerVocab;
    @Option(names = "--queries", defaultValue = "" + 32, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int queries;
    @Option(names = "--llm-width", defaultValue = "" + 512, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int llmWidth;
    @Option(names = "--llm-layers", defaultValue = "" + 6, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int llmLayers;
    @Option(names = "--llm-heads", defaultValue = "" + 8, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int llmHeads;
    @Option(names = "--llm-kv-heads", defaultValue = "" + 8, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int llmKvHeads;
    @Option(names = "--llm-mlp", defaultValue = "" + 1408, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int llmMlp;
    @Option(names = "--vocab", defaultValue = "" + 32000, description = "Random checkpoint: default ${DEFAULT-VALUE}.") int vocab;

    private PrintStream out = System.out;
    private PrintStream err = System.err;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        if ((model == null) == !randomCheckpoint) {
            throw usage("give exactly one of --model DIR and --random-checkpoint");
        }
        InferenceBenchmark.Settings settings;
        try {
            settings = new InferenceBenchmark.Settings(batchSizes, maxNewTokens, warmup, iterations,
                    prompt != null ? prompt : Prompts.CAPTION_TEMPLATE);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        // The runs repeat the same images: with the image feature cache on, only the first would pay for the vision
        // encoder. Off, every run costs what new images cost (and compares with other runtimes).
        RuntimeOptions runtime = runtimeOptions().withVisionCacheBytes(0);
        Path temp = null;
        try {
            Path modelDir = model;
            String modelName = model == null ? null : model.toString();
            if (randomCheckpoint) {
                RandomInstructBlipCheckpoint.Dims dims = dims();
                Path base = workDir != null ? workDir : (temp = Files.createTempDirectory("loupe-bench-"));
                Path ckpt = base.resolve("checkpoint");
                Path pkg = base.resolve("package");
                long start = System.nanoTime();
                long params = RandomInstructBlipCheckpoint.write(ckpt, dims, seed);
                err.printf(Locale.ROOT, "bench: random checkpoint with %.1f M parameters written to %s (%.1f s)%n",
                        params / 1e6, ckpt, (System.nanoTime() - start) / 1e9);
                start = System.nanoTime();
                Models.convert(ckpt, pkg);
                err.printf(Locale.ROOT, "bench: converted to %s (%.1f s)%n", pkg, (System.nanoTime() - start) / 1e9);
                modelDir = pkg;
                modelName = dims.describe() + String.format(Locale.ROOT, " (%.1f M parameters, fp32)", params / 1e6);
            }
            AnnotatorFactory factory = Models.open(modelDir, runtime);
            int distinct = settings.batchSizes().stream().max(Integer::compare).orElseThrow();
            List<byte[]> images = new ArrayList<>();
            for (int i = 0; i < distinct; i++) {
                images.add(RandomImages.png(seed + i, 640, 480));
            }
            long loadStart = System.nanoTime();
            try (BatchAnnotator annotator = factory.createAnnotator()) {
                double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
                InferenceBenchmark bench = InferenceBenchmark.prepare(annotator, factory.createPreprocessor(), images);
                List<InferenceBenchmark.Result> results = bench.run(settings, line -> err.println("bench: " + line));
                if (json) {
                    printJson(modelName, runtime, settings, loadSeconds, bench.preparation(), results);
                } else {
                    printTable(modelName, runtime, settings, loadSeconds, bench.preparation(), results);
                }
            }
            out.flush();
            return 0;
        } finally {
            if (temp != null) {
                FileTrees.deleteRecursively(temp);
            }
        }
    }

    private RandomInstructBlipCheckpoint.Dims dims() {
        try {
            return new RandomInstructBlipCheckpoint.Dims(imageSize, patchSize, visionWidth, visionLayers, visionHeads,
                    visionMlp, qformerWidth, qformerLayers, qformerHeads, qformerMlp, qformerVocab, queries, llmWidth,
                    llmLayers, llmHeads, llmKvHeads, llmMlp, vocab, D.maxPositions());
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private void printTable(String modelName, RuntimeOptions runtime, InferenceBenchmark.Settings s,
                            double loadSeconds, InferenceBenchmark.Preparation prep,
                            List<InferenceBenchmark.Result> results) {
        out.printf(Locale.ROOT, "model: %s%n", modelName);
        out.printf(Locale.ROOT, "device: %s, intra-op threads: %s, %d new tokens per image, %d warm-up + %d "
                        + "measured runs; load %.2f s; preprocessing %.1f ms/image (not in the figures below)%n",
                deviceName(runtime), runtime.intraOpThreads() == 0 ? "all cores" : runtime.intraOpThreads(),
                s.maxNewTokens(), s.warmupRuns(), s.iterations(), loadSeconds, prep.preprocessMsPerImage());
        out.println("| batch | images/s | tokens/s | prefill ms/image | decode ms/step | batch s | CPU s/image | heap peak MiB | RSS peak MiB |");
        out.println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (InferenceBenchmark.Result r : results) {
            out.printf(Locale.ROOT, "| %d | %.2f | %.1f | %.1f | %.1f | %.3f | %.2f | %d | %s |%n", r.batchSize(),
                    r.imagesPerSecond(), r.tokensPerSecond(), r.prefillMsPerImage(), r.decodeMsPerStep(),
                    r.batchSeconds(), r.cpuSecondsPerImage(), mib(r.heapPeakBytes()),
                    r.residentPeakBytes() < 0 ? "n/a" : mib(r.residentPeakBytes()) + (r.residentPeakReset() ? "" : "*"));
        }
        if (results.stream().anyMatch(r -> r.residentPeakBytes() >= 0 && !r.residentPeakReset())) {
            out.println("* resident peak since process start (this kernel refused to reset it)");
        }
    }

    private void printJson(String modelName, RuntimeOptions runtime, InferenceBenchmark.Settings s, double loadSeconds,
                           InferenceBenchmark.Preparation prep, List<InferenceBenchmark.Result> results)
            throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", modelName);
        o.put("device", deviceName(runtime));
        o.put("intra_op_threads", runtime.intraOpThreads());
        o.put("max_new_tokens", s.maxNewTokens());
        o.put("warmup_runs", s.warmupRuns());
        o.put("iterations", s.iterations());
        o.put("prompt", s.prompt());
        o.put("load_seconds", loadSeconds);
        o.put("preprocess_ms_per_image", prep.preprocessMsPerImage());
        ArrayNode arr = o.putArray("results");
        for (InferenceBenchmark.Result r : results) {
            arr.addObject().put("batch_size", r.batchSize()).put("images_per_second", r.imagesPerSecond())
                    .put("tokens_per_second", r.tokensPerSecond()).put("prefill_ms_per_image", r.prefillMsPerImage())
                    .put("decode_ms_per_step", r.decodeMsPerStep())
                    .put("cpu_seconds_per_image", r.cpuSecondsPerImage()).put("batch_seconds", r.batchSeconds())
                    .put("new_tokens_per_image", r.newTokensPerImage()).put("heap_peak_bytes", r.heapPeakBytes())
                    .put("rss_peak_bytes", r.residentPeakBytes()).put("rss_peak_reset", r.residentPeakReset());
        }
        o.put("rss_now_bytes", ProcessResources.residentBytes());
        out.println(JSON.writeValueAsString(o));
    }

    private static String deviceName(RuntimeOptions runtime) {
        return runtime.device() == RuntimeOptions.Device.CUDA ? "cuda:" + runtime.deviceIndex() : "cpu";
    }

    private static long mib(long bytes) {
        return Math.round(bytes / (1024.0 * 1024.0));
    }


    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
