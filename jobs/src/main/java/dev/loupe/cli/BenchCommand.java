package dev.loupe.cli;

import dev.loupe.model.files.FileTrees;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderGraphKind;
import dev.loupe.model.onnx.ActivationMemory;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import dev.loupe.model.tools.GpuMemoryProbe;
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
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false, subcommands = {SoakCommand.class, PreprocessBenchCommand.class, FidelityCommand.class},
        description = "Throughput and latency per batch size (images/s, tokens/s, prefill ms/image, peak memory); "
                + "'bench soak': a soak run of the streaming job; 'bench preprocess': image preprocessing ms/image; "
                + "'bench fidelity': how closely an int8 package follows the fp32 one.")
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

    @Option(names = "--length-mix", split = ",", paramLabel = "N[,N...]", description = "New-token counts the images "
            + "take in turn (min = max each), e.g. 4,8,32,64; a run is then batch size x mix size images. Default: "
            + "every image generates --max-new-tokens.")
    List<Integer> lengthMix = List.of();

    @Option(names = "--scheduling", split = ",", defaultValue = dev.loupe.flink.batch.Scheduling.DEFAULT_NAME,
            paramLabel = "static|continuous",
            description = "Generation loop: static batches (every row waits for the longest of its batch) or "
            + "continuous batching (rows join and leave the decoding batch step by step; --batch-sizes are its active "
            + "rows); 'static,continuous' measures both, their runs alternating. With "
            + "-Dloupe.continuous.prefixes-in-background=true continuous batching builds the image side of waiting "
            + "rows on a background thread in the idle scheduling class while rows decode (off by default); "
            + "'continuous-overlap' forces that background thread on, 'continuous-on-loop' off (every group built on the loop's thread when admission needs it), to "
            + "measure the overlap. Default ${DEFAULT-VALUE}, the jobs' loop (batch.scheduling).")
    List<String> scheduling;


    @Option(names = "--dtypes", split = ",", paramLabel = "DTYPE",
            description = "Convert the checkpoint (--random-checkpoint, or --model naming a checkpoint directory) at "
                    + "each of these dtypes (fp32, fp16, fp16-compute, int8, int4) and measure the packages one after "
                    + "the other in this process. Default: fp32, or the --model package as it is.")
    List<String> dtypes;

    @Option(names = "--decoders", split = ",", paramLabel = "fused|plain",
            description = "With --dtypes or --random-checkpoint: convert with each of these language-model graphs "
                    + "(fused: ONNX Runtime's fused kernels, for LLaMA and OPT GroupQueryAttention with an in-place KV "
                    + "cache; plain: plain ONNX operators, a cache concatenated per step) and measure each package, for an A/B in one run. "
                    + "Default: fused.")
    List<String> decoders;

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
                    prompt != null ? prompt : Prompts.CAPTION_TEMPLATE, lengthMix,
                    scheduling.stream().map(InferenceBenchmark.Scheduling::parse).toList());
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        List<Precision> precisions = new ArrayList<>();
        try {
            for (String d : dtypes == null ? List.of("fp32") : dtypes) {
                precisions.add(Precision.parse(d.strip()));
            }
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (precisions.isEmpty() || precisions.stream().distinct().count() != precisions.size()) {
            throw usage("--dtypes needs distinct dtypes, got " + dtypes);
        }
        List<DecoderGraphKind> decoderKinds = new ArrayList<>();
        try {
            for (String d : decoders == null ? List.of("fused") : decoders) {
                decoderKinds.add(DecoderGraphKind.parse(d.strip()));
            }
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (decoderKinds.isEmpty() || decoderKinds.stream().distinct().count() != decoderKinds.size()) {
            throw usage("--decoders needs distinct decoder graphs, got " + decoders);
        }
        boolean modelIsPackage = model != null && Files.isRegularFile(model.resolve(Manifest.FILE_NAME));
        if (modelIsPackage && decoders != null) {
            throw usage("--decoders converts a checkpoint: give --random-checkpoint or a checkpoint directory");
        }
        if (modelIsPackage && dtypes != null) {
            throw usage("--dtypes converts a checkpoint: give --random-checkpoint or a checkpoint directory; "
                    + model + " is a package (bench each package with its own --model)");
        }
        // The runs repeat the same images: with the image feature cache on, only the first would pay for the vision
        // encoder. Off, every run costs what new images cost (and compares with other runtimes).
        RuntimeOptions runtime = runtimeOptions().withVisionCacheBytes(0);
        Path temp = null;
        try {
            List<Measured> measured = new ArrayList<>();
            Path checkpoint = model;
            String modelName = model == null ? null : model.toString();
            Path base = null;
            if (randomCheckpoint || (!modelIsPackage && (dtypes != null || decoders != null))) {
                base = workDir != null ? workDir : (temp = Files.createTempDirectory("loupe-bench-"));
            }
            if (randomCheckpoint) {
                RandomInstructBlipCheckpoint.Dims dims = dims();
                checkpoint = base.resolve("checkpoint");
                long start = System.nanoTime();
                long params = RandomInstructBlipCheckpoint.write(checkpoint, dims, seed);
                err.printf(Locale.ROOT, "bench: random checkpoint with %.1f M parameters written to %s (%.1f s)%n",
                        params / 1e6, checkpoint, (System.nanoTime() - start) / 1e9);
                modelName = dims.describe() + String.format(Locale.ROOT, " (%.1f M parameters)", params / 1e6);
            }
            int distinct = settings.batchSizes().stream().max(Integer::compare).orElseThrow();
            // drawn again for each package rather than kept: the runs' memory is the model's, not the benchmark's
            InferenceBenchmark.EncodedImages images = i -> RandomImages.png(seed + i, 640, 480);
            for (Precision precision : precisions) {
                for (DecoderGraphKind decoder : decoderKinds) {
                    Path modelDir = model;
                    if (base != null) {
                        modelDir = base.resolve((precision == Precision.FP32 ? "package" : "package-" + precision.label())
                                + (decoder == DecoderGraphKind.FUSED ? "" : "-" + decoder.label()));
                        long start = System.nanoTime();
                        Models.convert(checkpoint, modelDir, precision, decoder);
                        err.printf(Locale.ROOT, "bench: converted to %s (%.1f s)%n", modelDir,
                                (System.nanoTime() - start) / 1e9);
                    }
                    measured.add(measure(modelDir, runtime, settings, distinct, images));
                }
            }
            if (json) {
                printJson(modelName, runtime, settings, measured);
            } else {
                printTable(modelName, runtime, settings, measured);
            }
            out.flush();
            return 0;
        } finally {
            if (temp != null) {
                FileTrees.deleteRecursively(temp);
            }
        }
    }

    /**
     * One package's figures: its dtype and decoder graph (manifest {@code dimensions.llm_decoder}; absent in packages
     * written before the fused graph, which hold the plain one), load time, preprocessing and the results per batch
     * size.
     */
    private record Measured(String dtype, String decoder, Path dir, double loadSeconds,
                            InferenceBenchmark.Preparation preparation, List<InferenceBenchmark.Result> results,
                            GpuMemory gpu) {
        /** dtype and decoder graph, e.g. "fp32/fused". */
        String label() {
            return decoder.isEmpty() ? dtype : dtype + "/" + decoder;
        }
    }

    /**
     * GPU memory over one package's load and runs (CUDA only): the probe's reading, or why there is none; null on CPU.
     */
    record GpuMemory(GpuMemoryProbe.Reading reading, String unavailable) {
        String describe(int deviceIndex) {
            return reading == null ? "n/a (" + unavailable + ")" : reading.describe(deviceIndex);
        }
    }

    private Measured measure(Path modelDir, RuntimeOptions runtime, InferenceBenchmark.Settings settings,
                             int distinctImages, InferenceBenchmark.EncodedImages images) throws Exception {
        ProcessResources.resetPeaks();
        AnnotatorFactory factory = Models.open(modelDir, runtime);
        Path pkg = Models.resolvePackage(modelDir, runtime);
        Manifest manifest = Manifest.read(pkg);
        String dtype = manifest.dtype();
        String decoder = manifest.dimensions() == null ? ""
                : manifest.dimensions().path(DecoderGraphKind.MANIFEST_FIELD).asText("");
        long loadStart = System.nanoTime();
        try (GpuMemoryProbe gpu = runtime.device() == RuntimeOptions.Device.CUDA
                ? GpuMemoryProbe.start(runtime.deviceIndex(), GpuMemoryProbe.INTERVAL) : null;
             BatchAnnotator annotator = factory.createAnnotator()) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            InferenceBenchmark bench = InferenceBenchmark.prepare(annotator, factory.createPreprocessor(),
                    distinctImages, images);
            List<InferenceBenchmark.Result> results = bench.run(settings,
                    line -> err.println("bench: " + dtype + (decoder.isEmpty() ? "" : "/" + decoder) + ", " + line));
            GpuMemory memory = gpu == null ? null : gpu.unavailable() != null ? new GpuMemory(null, gpu.unavailable())
                    : new GpuMemory(gpu.read(), null);
            return new Measured(dtype, decoder, pkg, loadSeconds, bench.preparation(), results, memory);
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
                            List<Measured> measured) {
        out.printf(Locale.ROOT, "model: %s%n", modelName);
        out.printf(Locale.ROOT, "device: %s, decoder runner: %s, intra-op threads: %s, %s new tokens per image, %s "
                        + "scheduling, %d warm-up + %d measured runs; preprocessing %.1f ms/image (not in the figures "
                        + "below)%n",
                deviceName(runtime), runtime.runner().spec() + (runtime.runner() == RuntimeOptions.Runner.AUTO
                        ? " (" + runtime.effectiveRunner().spec() + " for fused-decoder packages)" : ""),
                runtime.intraOpThreads() == 0 ? "all cores" : runtime.intraOpThreads(),
                s.lengthMix().isEmpty() ? String.valueOf(s.maxNewTokens()) : "in turn " + s.lengthMix(),
                schedulings(s), s.warmupRuns(), s.iterations(), measured.get(0).preparation().preprocessMsPerImage());
        out.printf(Locale.ROOT, "memory: ONNX Runtime activations %s; JVM %s%n", activations(runtime),
                ProcessResources.jvmMemorySetup());
        boolean notReset = false;
        for (Measured m : measured) {
            if (measured.size() > 1) {
                out.printf(Locale.ROOT, "%ndtype %s (%s, load %.2f s)%n", m.label(), m.dir().getFileName(),
                        m.loadSeconds());
            } else {
                out.printf(Locale.ROOT, "dtype %s, load %.2f s%n", m.label(), m.loadSeconds());
            }
            out.println("| batch | scheduling | images/run | images/s | tokens/s | prefill ms/image | decode ms/step | run s | CPU s/image | heap peak MiB | RSS peak MiB | ms to result by length |");
            out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            for (InferenceBenchmark.Result r : m.results()) {
                StringBuilder byLength = new StringBuilder();
                r.msToResultByLength().forEach((length, ms) -> byLength.append(byLength.isEmpty() ? "" : ", ")
                        .append(length).append(": ").append(String.format(Locale.ROOT, "%.0f", ms)));
                out.printf(Locale.ROOT, "| %d | %s | %d | %.2f | %.1f | %.1f | %s | %.3f | %.2f | %d | %s | %s |%n",
                        r.batchSize(), r.scheduling().label(), r.imagesPerRun(),
                        r.imagesPerSecond(), r.tokensPerSecond(), r.prefillMsPerImage(),
                        Double.isNaN(r.decodeMsPerStep()) ? "n/a" : String.format(Locale.ROOT, "%.1f", r.decodeMsPerStep()),
                        r.batchSeconds(), r.cpuSecondsPerImage(), mib(r.heapPeakBytes()),
                        r.residentPeakBytes() < 0 ? "n/a" : mib(r.residentPeakBytes()) + (r.residentPeakReset() ? "" : "*"),
                        byLength);
                notReset |= r.residentPeakBytes() >= 0 && !r.residentPeakReset();
            }
            printSplits(m.results());
            printTraffic(m);
            printGpu(runtime, m);
        }
        if (measured.size() > 1) {
            Measured first = measured.get(0);
            out.printf(Locale.ROOT, "%nratios to %s (same run):%n", first.label());
            for (Measured m : measured.subList(1, measured.size())) {
                for (int i = 0; i < m.results().size(); i++) {
                    InferenceBenchmark.Result a = first.results().get(i);
                    InferenceBenchmark.Result b = m.results().get(i);
                    out.printf(Locale.ROOT, "%s batch %d: images/s %.2fx, RSS peak %s%n", m.label(), b.batchSize(),
                            b.imagesPerSecond() / a.imagesPerSecond(), a.residentPeakBytes() > 0
                                    && b.residentPeakBytes() > 0 ? String.format(Locale.ROOT, "%.2fx",
                                    (double) b.residentPeakBytes() / a.residentPeakBytes()) : "n/a");
                }
            }
        }
        if (notReset) {
            out.println("* resident peak since process start (this kernel refused to reset it)");
        }
    }

    /** Where each measured run's time went: image side, language model (prefill, decode steps), the rest. */
    private void printSplits(List<InferenceBenchmark.Result> results) {
        for (InferenceBenchmark.Result r : results) {
            GenerationSplit g = r.split();
            if (g.equals(GenerationSplit.NONE)) {
                continue;
            }
            double runs = r.iterations();
            double total = r.batchSeconds() * 1e3;
            double image = g.imageSideNanos() / 1e6 / runs;
            String language;
            double languageMs;
            if (g.steps() > 0 || g.prefillRuns() > 0) {
                double prefill = g.prefillNanos() / 1e6 / runs;
                double steps = g.stepNanos() / 1e6 / runs;
                languageMs = prefill + steps + g.staticLanguageNanos() / 1e6 / runs;
                language = String.format(Locale.ROOT, "prefill %.0f ms (%.0f runs of %.1f rows), decode steps %.0f ms "
                                + "(%.0f steps of %.1f rows = %.0f %% of %d, %.2f ms/step)", prefill, g.prefillRuns() / runs,
                        (double) g.prefillRows() / Math.max(1, g.prefillRuns()), steps, g.steps() / runs,
                        g.meanStepRows(), 100 * g.meanStepRows() / r.batchSize(), r.batchSize(),
                        g.stepNanos() / 1e6 / Math.max(1, g.steps()));
            } else {
                languageMs = g.staticLanguageNanos() / 1e6 / runs;
                language = String.format(Locale.ROOT, "language model %.0f ms (prefills and steps)", languageMs);
            }
            String background = g.backgroundImageSideRows() == 0 ? ""
                    : String.format(Locale.ROOT, "; besides, image side on the background thread %.0f ms for %.1f rows",
                            g.backgroundImageSideNanos() / 1e6 / runs, g.backgroundImageSideRows() / runs);
            out.printf(Locale.ROOT, "split per run, batch %d %s: %.0f ms = image side %.0f ms (%.0f %%, %.1f rows), "
                            + "%s, rest %.0f ms%s%n", r.batchSize(), r.scheduling().label(), total, image,
                    100 * image / total, g.imageSideRows() / runs, language, total - image - languageMs, background);
        }
    }

    /** The device-bound runner's host-boundary bytes per batch size (nothing for the Java-API runner). */
    private void printTraffic(Measured m) {
        boolean header = false;
        for (InferenceBenchmark.Result r : m.results()) {
            HostTrafficStats t = r.hostTraffic();
            if (t.steps() == 0 && t.prefills() == 0) {
                continue;
            }
            if (!header) {
                out.println("device-bound runner, bytes across the host boundary in the measured runs:");
                out.println("| batch | scheduling | decode steps | bytes/step to device | bytes/step to host | prefills | "
                        + "prefill+lookup MiB to device | prefill+lookup MiB to host | image side MiB to device | "
                        + "image side MiB to host | device MiB in use |");
                out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
                header = true;
            }
            out.printf(Locale.ROOT, "| %d | %s | %d | %.0f | %.0f | %d | %.2f | %.2f | %.2f | %.2f | %s |%n",
                    r.batchSize(), r.scheduling().label(), t.steps(),
                    perStep(t.stepToDevice(), t.steps()), perStep(t.stepToHost(), t.steps()), t.prefills(),
                    t.prefillToDevice() / (1024.0 * 1024.0), t.prefillToHost() / (1024.0 * 1024.0),
                    t.imageToDevice() / (1024.0 * 1024.0), t.imageToHost() / (1024.0 * 1024.0),
                    t.deviceBytesInUse() < 0 ? "n/a" : String.valueOf(mib(t.deviceBytesInUse())));
        }
    }

    private static double perStep(long bytes, long steps) {
        return steps == 0 ? 0 : (double) bytes / steps;
    }

    /** GPU memory and host traffic per decode step, on CUDA (see docs/deployment.md#gpu). */
    private void printGpu(RuntimeOptions runtime, Measured m) {
        if (m.gpu() != null) {
            out.printf(Locale.ROOT, "GPU memory over load and runs: %s%n", m.gpu().describe(runtime.deviceIndex()));
            if (m.results().stream().allMatch(r -> r.hostTraffic().steps() == 0)) {
                out.println("host-boundary bytes per decode step: " + HOST_BYTES_NOTE);
            }
        }
    }

    private static String activations(RuntimeOptions runtime) {
        return OrtSessions.activationMemory(runtime) == ActivationMemory.MALLOC
                ? "from malloc, shared by all sessions" : "in an arena per session";
    }

    /** Where the runner does not count (the Java-API runner: its KV cache crosses the boundary every step). */
    static final String HOST_BYTES_NOTE = "n/a (counted by the device-bound runner only; this package's decoder runs "
            + "through ONNX Runtime's Java API, whose KV cache crosses every step)";

    private void printJson(String modelName, RuntimeOptions runtime, InferenceBenchmark.Settings s,
                           List<Measured> measured) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", modelName);
        o.put("device", deviceName(runtime));
        o.put("intra_op_threads", runtime.intraOpThreads());
        o.put("activation_memory", OrtSessions.activationMemory(runtime).name().toLowerCase(Locale.ROOT));
        o.put("jvm_memory", ProcessResources.jvmMemorySetup());
        o.put("runner", runtime.runner().spec());
        o.put("max_new_tokens", s.maxNewTokens());
        o.put("warmup_runs", s.warmupRuns());
        o.put("iterations", s.iterations());
        o.put("prompt", s.prompt());
        ArrayNode mix = o.putArray("length_mix");
        s.lengthMix().forEach(mix::add);
        o.put("scheduling", schedulings(s));
        o.put("load_seconds", measured.get(0).loadSeconds());
        o.put("preprocess_ms_per_image", measured.get(0).preparation().preprocessMsPerImage());
        ArrayNode arr = o.putArray("results");
        for (Measured m : measured) {
            for (InferenceBenchmark.Result r : m.results()) {
                ObjectNode result = arr.addObject().put("dtype", m.dtype()).put("decoder", m.decoder()).put("batch_size", r.batchSize())
                        .put("scheduling", r.scheduling().label())
                        .put("images_per_second", r.imagesPerSecond())
                        .put("tokens_per_second", r.tokensPerSecond()).put("prefill_ms_per_image", r.prefillMsPerImage())
                        .put("cpu_seconds_per_image", r.cpuSecondsPerImage()).put("batch_seconds", r.batchSeconds())
                        .put("images_per_run", r.imagesPerRun())
                        .put("new_tokens_per_image", r.newTokensPerImage()).put("heap_peak_bytes", r.heapPeakBytes())
                        .put("rss_peak_bytes", r.residentPeakBytes()).put("rss_peak_reset", r.residentPeakReset())
                        .put("load_seconds", m.loadSeconds());
                if (Double.isNaN(r.decodeMsPerStep())) {
                    result.putNull("decode_ms_per_step");
                } else {
                    result.put("decode_ms_per_step", r.decodeMsPerStep());
                }
                HostTrafficStats t = r.hostTraffic();
                if (t.steps() > 0 || t.prefills() > 0) {
                    result.putObject("host_traffic").put("decode_steps", t.steps()).put("prefills", t.prefills())
                            .put("step_bytes_to_device", t.stepToDevice()).put("step_bytes_to_host", t.stepToHost())
                            .put("bytes_per_step", t.bytesPerStep())
                            .put("prefill_bytes_to_device", t.prefillToDevice())
                            .put("prefill_bytes_to_host", t.prefillToHost())
                            .put("image_bytes_to_device", t.imageToDevice())
                            .put("image_bytes_to_host", t.imageToHost())
                            .put("device_bytes_in_use", t.deviceBytesInUse());
                }
                if (m.gpu() != null) {
                    putGpu(result.putObject("gpu_memory"), m.gpu());
                    if (t.steps() == 0) {
                        result.putNull("host_bytes_per_decode_step");
                        result.put("host_bytes_per_decode_step_note", HOST_BYTES_NOTE);
                    }
                }
                ObjectNode byLength = result.putObject("ms_to_result_by_length");
                r.msToResultByLength().forEach((length, ms) -> byLength.put(String.valueOf(length), ms));
                GenerationSplit g = r.split();
                result.putObject("split_per_run")
                        .put("image_side_ms", g.imageSideNanos() / 1e6 / r.iterations())
                        .put("static_language_ms", g.staticLanguageNanos() / 1e6 / r.iterations())
                        .put("prefill_ms", g.prefillNanos() / 1e6 / r.iterations())
                        .put("prefill_runs", (double) g.prefillRuns() / r.iterations())
                        .put("step_ms", g.stepNanos() / 1e6 / r.iterations())
                        .put("steps", (double) g.steps() / r.iterations())
                        .put("mean_step_rows", g.meanStepRows())
                        .put("image_side_rows", (double) g.imageSideRows() / r.iterations())
                        .put("background_image_side_ms", g.backgroundImageSideNanos() / 1e6 / r.iterations())
                        .put("background_image_side_rows", (double) g.backgroundImageSideRows() / r.iterations());
            }
        }
        o.put("rss_now_bytes", ProcessResources.residentBytes());
        out.println(JSON.writeValueAsString(o));
    }

    /** Bytes; -1 where unknown; {@code unavailable} (and no figures) where nvidia-smi gave none. */
    static void putGpu(ObjectNode o, GpuMemory gpu) {
        GpuMemoryProbe.Reading r = gpu.reading();
        if (r == null) {
            o.put("unavailable", gpu.unavailable());
            return;
        }
        o.put("source", "nvidia-smi").put("samples", r.samples())
                .put("process_peak_bytes", r.processPeakBytes()).put("process_used_bytes", r.processUsedBytes())
                .put("device_peak_bytes", r.devicePeakBytes()).put("device_used_bytes", r.deviceUsedBytes())
                .put("device_total_bytes", r.deviceTotalBytes());
    }

    private static String schedulings(InferenceBenchmark.Settings s) {
        return String.join(",", s.schedulings().stream().map(l -> l.label()).toList());
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
