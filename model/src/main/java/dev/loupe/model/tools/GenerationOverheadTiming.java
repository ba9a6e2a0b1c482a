package dev.loupe.model.tools;

import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.GenerationSplit;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.instructblip.InstructBlipAnnotator;
import dev.loupe.model.instructblip.InstructBlipConfig;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.text.EncodedPrompt;
import dev.loupe.model.text.InstructBlipPromptEncoder;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What {@code loupe bench} runs — one static batch through the annotator, greedy, exactly {@code TOKENS} new tokens
 * per image — against the same graphs alone on prebuilt inputs of the same shapes (vision in the encoder's runs,
 * Q-Former over the batch, the fused decoder's prefill and {@code TOKENS - 1} steps), alternating call by call in one
 * process, so both see the same machine load. Per image: the median wall time and the mean process CPU time of
 * each, for the image side and the language model apart (the annotator's {@link GenerationSplit}, wall only) and
 * together, and what the annotator's thread allocated on the heap per image and the collections per call (figures that
 * do not depend on the machine's load). The difference is what the runtime costs around the graphs: tensor set-up,
 * copies, digests, token choice, garbage collection. The feature cache is off, as in {@code loupe bench}. For InstructBLIP packages with a
 * fused LLaMA decoder.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.GenerationOverheadTiming THREADS BATCH TOKENS ROUNDS PACKAGE}
 */
public final class GenerationOverheadTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private GenerationOverheadTiming() {}

    /**
     * Milliseconds per image. Through the annotator: whole call (wall median, CPU mean), image side and language
     * model (wall medians from its split). Alone: the graphs' image side and language model (wall medians) and all
     * of it (wall median, CPU mean).
     */
    public record Timing(double callMs, double callCpuMs, double imageSideMs, double languageMs,
                         double aloneMs, double aloneCpuMs, double aloneImageSideMs, double aloneLanguageMs,
                         double callHeapKiB, double gcPerCall, double gcMsPerCall) {}

    public static Timing time(Path pkg, RuntimeOptions options, int batch, int tokens, int rounds) throws Exception {
        RuntimeOptions noCache = options.withVisionCacheBytes(0);
        InstructBlipConfig config = InstructBlipConfig.load(pkg);
        int size = config.vision().imageSize();
        SplittableRandom random = new SplittableRandom(5);
        List<ImageTensor> images = new ArrayList<>();
        List<AnnotationInput> inputs = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            float[] chw = new float[3 * size * size];
            for (int i = 0; i < chw.length; i++) {
                chw[i] = (float) (random.nextDouble() * 4 - 2);
            }
            images.add(new ImageTensor(chw, 3, size, size));
            inputs.add(new AnnotationInput("row-" + b, images.get(b), Prompts.CAPTION_TEMPLATE, Task.CAPTION,
                    List.of(), GenerationConfig.greedy(tokens).withMinNewTokens(tokens)));
        }
        EncodedPrompt prompt;
        try (InstructBlipPromptEncoder prompts = InstructBlipPromptEncoder.fromCheckpoint(pkg)) {
            prompt = prompts.encode(Prompts.CAPTION_TEMPLATE, tokens);
        }
        long[][] qformerIds = new long[batch][];
        for (int b = 0; b < batch; b++) {
            qformerIds[b] = java.util.Arrays.stream(prompt.qformerIds()).asLongStream().toArray();
        }
        int prefix = prompt.inputIds().length;
        try (InstructBlipAnnotator model = InstructBlipAnnotator.open(pkg, noCache);
             ImageSideTiming.Graphs imageSide = new ImageSideTiming.Graphs(pkg, OrtSessions.environment(noCache),
                     noCache, images, qformerIds);
             FusedDecoderTiming.Runner decoder = new FusedDecoderTiming.Runner(pkg.resolve("decoder.onnx"),
                     OrtSessions.environment(noCache), noCache, batch, prefix)) {
            for (int w = 0; w < 3; w++) {
                call(model, inputs, tokens);
                imageSide.round();
                decoder.round();
            }
            double[] callMs = new double[rounds];
            double[] callCpu = new double[rounds];
            double[] imageMs = new double[rounds];
            double[] languageMs = new double[rounds];
            double[] aloneMs = new double[rounds];
            double[] aloneCpu = new double[rounds];
            double[] aloneImageMs = new double[rounds];
            double[] aloneLanguageMs = new double[rounds];
            long heap = 0;
            long[] gc = new long[2];
            for (int i = 0; i < rounds; i++) {
                GenerationSplit before = model.generationSplit();
                long[] gc0 = collections();
                long heap0 = THREADS.getCurrentThreadAllocatedBytes();
                long cpu0 = CPU.getProcessCpuTime();
                long t0 = System.nanoTime();
                call(model, inputs, tokens);
                long t1 = System.nanoTime();
                long cpu1 = CPU.getProcessCpuTime();
                heap += THREADS.getCurrentThreadAllocatedBytes() - heap0;
                long[] gc1 = collections();
                gc[0] += gc1[0] - gc0[0];
                gc[1] += gc1[1] - gc0[1];
                GenerationSplit split = model.generationSplit().minus(before);
                callMs[i] = (t1 - t0) / 1e6;
                callCpu[i] = (cpu1 - cpu0) / 1e6;
                imageMs[i] = split.imageSideNanos() / 1e6;
                languageMs[i] = split.staticLanguageNanos() / 1e6;
                long cpu2 = CPU.getProcessCpuTime();
                long t2 = System.nanoTime();
                imageSide.round();
                long t3 = System.nanoTime();
                decoder.prefill();
                for (int s = 1; s < tokens; s++) {
                    decoder.step();
                }
                long t4 = System.nanoTime();
                long cpu4 = CPU.getProcessCpuTime();
                aloneMs[i] = (t4 - t2) / 1e6;
                aloneCpu[i] = (cpu4 - cpu2) / 1e6;
                aloneImageMs[i] = (t3 - t2) / 1e6;
                aloneLanguageMs[i] = (t4 - t3) / 1e6;
            }
            return new Timing(EncoderGraphTiming.median(callMs) / batch, EncoderGraphTiming.mean(callCpu) / batch,
                    EncoderGraphTiming.median(imageMs) / batch, EncoderGraphTiming.median(languageMs) / batch,
                    EncoderGraphTiming.median(aloneMs) / batch, EncoderGraphTiming.mean(aloneCpu) / batch,
                    EncoderGraphTiming.median(aloneImageMs) / batch,
                    EncoderGraphTiming.median(aloneLanguageMs) / batch, heap / 1024.0 / rounds / batch,
                    (double) gc[0] / rounds, (double) gc[1] / rounds);
        }
    }

    /** Collections so far and their milliseconds, over every collector. */
    private static long[] collections() {
        long[] out = new long[2];
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            out[0] += Math.max(0, gc.getCollectionCount());
            out[1] += Math.max(0, gc.getCollectionTime());
        }
        return out;
    }

    private static void call(InstructBlipAnnotator model, List<AnnotationInput> inputs, int tokens) {
        for (AnnotationOutcome o : model.annotate(inputs)) {
            if (!o.isSuccess() || o.annotation().tokenIds().length != tokens) {
                throw new IllegalStateException("a row did not generate " + tokens + " tokens: "
                        + (o.isSuccess() ? o.annotation().tokenIds().length : o.errorMessage()));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: GenerationOverheadTiming THREADS BATCH TOKENS ROUNDS PACKAGE");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int tokens = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        Path pkg = Path.of(args[4]);
        Timing t = time(pkg, RuntimeOptions.cpu(threads), batch, tokens, rounds);
        System.out.printf(Locale.ROOT, "%s: %d threads, batch %d, %d tokens, %d rounds, ms per image: "
                        + "annotator %.2f (CPU %.2f) = image side %.2f + language model %.2f; graphs alone %.2f "
                        + "(CPU %.2f) = image side %.2f + language model %.2f; annotator / alone: wall %.3f, CPU %.3f, "
                        + "image side %.3f, language model %.3f; the annotator's thread allocated %.0f KiB per image, "
                        + "%.2f collections per call (%.1f ms)%n",
                pkg, threads, batch, tokens, rounds, t.callMs(), t.callCpuMs(), t.imageSideMs(), t.languageMs(),
                t.aloneMs(), t.aloneCpuMs(), t.aloneImageSideMs(), t.aloneLanguageMs(), t.callMs() / t.aloneMs(),
                t.callCpuMs() / t.aloneCpuMs(), t.imageSideMs() / t.aloneImageSideMs(),
                t.languageMs() / t.aloneLanguageMs(), t.callHeapKiB(), t.gcPerCall(), t.gcMsPerCall());
    }
}
