package dev.loupe.model.tools;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.Task;
import dev.loupe.model.instructblip.InstructBlipAnnotator;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.instructblip.ImageEncoder;
import dev.loupe.model.instructblip.InstructBlipConfig;
import dev.loupe.model.instructblip.QFormerGraph;
import dev.loupe.model.instructblip.VisionGraph;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.RowsPerRun;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The image side of an InstructBLIP / BLIP-2 package through {@link ImageEncoder#encode} (what {@code loupe bench}
 * and the jobs run: digests for the feature cache, tensor building, copies, conversions) against its two graphs
 * alone ({@code session.run} on prebuilt tensors, as {@link EncoderGraphTiming}), alternating round by round on the
 * same images and instruction so that both see the same machine load. The difference is what the runtime costs
 * around the graphs. The feature cache is off (as in {@code loupe bench}), so every round runs the graphs.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.ImageSideTiming THREADS BATCH ROUNDS [--text N]
 * [--generate-between TOKENS] PACKAGE}: with {@code --generate-between}, a greedy generation of one image runs
 * (untimed) before each timed part, as the language model runs between image sides in {@code loupe bench}.
 */
public final class ImageSideTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private ImageSideTiming() {}

    /** Milliseconds per image: median wall and mean process CPU, through the encoder and of the graphs alone. */
    public record Timing(double encoderMs, double encoderCpuMs, double graphsMs, double graphsCpuMs) {
        /** Through the encoder over the graphs alone, wall time. */
        public double ratio() {
            return encoderMs / graphsMs;
        }

        /** Through the encoder over the graphs alone, CPU time. */
        public double cpuRatio() {
            return encoderCpuMs / graphsCpuMs;
        }
    }

    /**
     * @param between run before each timed part, untimed (e.g. a generation, so that both parts start from the cache
     *                and thread state the language model leaves, as in {@code loupe bench}); may be null
     */
    public static Timing time(Path pkg, RuntimeOptions options, int batch, int textLength, int rounds,
                              Between between) throws Exception {
        RuntimeOptions noCache = options.withVisionCacheBytes(0);
        OrtEnvironment env = OrtSessions.environment(noCache);
        InstructBlipConfig config = InstructBlipConfig.load(pkg);
        SplittableRandom random = new SplittableRandom(7);
        int size = config.vision().imageSize();
        List<ImageTensor> images = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            float[] chw = new float[3 * size * size];
            for (int i = 0; i < chw.length; i++) {
                chw[i] = (float) (random.nextDouble() * 4 - 2);
            }
            images.add(new ImageTensor(chw, 3, size, size));
        }
        long[][] ids = new long[batch][textLength];
        for (long[] row : ids) {
            for (int i = 0; i < textLength; i++) {
                row[i] = 100 + i;
            }
        }
        try (ImageEncoder encoder = ImageEncoder.open(pkg.resolve(ImageEncoder.VISION_FILE),
                     pkg.resolve(ImageEncoder.QFORMER_FILE), config, noCache);
             Graphs graphs = new Graphs(pkg, env, noCache, images, ids)) {
            for (int w = 0; w < 3; w++) {
                encoder.encode(images, ids);
                graphs.round();
            }
            double[] encMs = new double[rounds];
            double[] encCpu = new double[rounds];
            double[] grMs = new double[rounds];
            double[] grCpu = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                between.run();
                long cpu0 = CPU.getProcessCpuTime();
                long t0 = System.nanoTime();
                encoder.encode(images, ids);
                long t1 = System.nanoTime();
                long cpu1 = CPU.getProcessCpuTime();
                between.run();
                long cpu2 = CPU.getProcessCpuTime();
                long t2 = System.nanoTime();
                graphs.round();
                long t3 = System.nanoTime();
                long cpu3 = CPU.getProcessCpuTime();
                encMs[i] = (t1 - t0) / 1e6;
                encCpu[i] = (cpu1 - cpu0) / 1e6;
                grMs[i] = (t3 - t2) / 1e6;
                grCpu[i] = (cpu3 - cpu2) / 1e6;
            }
            return new Timing(EncoderGraphTiming.median(encMs) / batch, EncoderGraphTiming.mean(encCpu) / batch,
                    EncoderGraphTiming.median(grMs) / batch, EncoderGraphTiming.mean(grCpu) / batch);
        }
    }

    /** Untimed work between the timed parts. */
    @FunctionalInterface
    public interface Between {
        void run() throws Exception;
    }

    /**
     * The package's two graphs in their own sessions, with inputs built once: the vision graph in runs of
     * {@link ImageEncoder#VISION_RUN_IMAGES} images or as few as the graph declares ({@link RowsPerRun}), as the
     * encoder runs it; the Q-Former over the whole batch.
     */
    static final class Graphs implements AutoCloseable {
        private final OrtSession vision;
        private final OrtSession qformer;
        private final List<OnnxTensor> owned = new ArrayList<>();
        private final List<Map<String, OnnxTensor>> visionIn = new ArrayList<>();
        private final Map<String, OnnxTensor> qformerIn = new HashMap<>();

        Graphs(Path pkg, OrtEnvironment env, RuntimeOptions options, List<ImageTensor> images, long[][] ids)
                throws Exception {
            vision = OrtSessions.open(pkg.resolve(ImageEncoder.VISION_FILE), options);
            qformer = OrtSessions.open(pkg.resolve(ImageEncoder.QFORMER_FILE), options);
            int batch = images.size();
            int per = images.get(0).chw().length;
            ImageTensor first = images.get(0);
            int perRun = RowsPerRun.of(vision, ImageEncoder.VISION_RUN_IMAGES);
            for (int from = 0; from < batch; from += perRun) {
                int n = Math.min(perRun, batch - from);
                float[] px = new float[n * per];
                for (int b = 0; b < n; b++) {
                    System.arraycopy(images.get(from + b).chw(), 0, px, b * per, per);
                }
                visionIn.add(Map.of(VisionGraph.PIXEL_VALUES, own(OnnxTensor.createTensor(env, FloatBuffer.wrap(px),
                        new long[] {n, first.channels(), first.height(), first.width()}))));
            }
            long[] emb = ((TensorInfo) vision.getOutputInfo().get(VisionGraph.IMAGE_EMBEDS).getInfo()).getShape();
            qformerIn.put(QFormerGraph.IMAGE_EMBEDS, own(DecoderGraphTiming.floats(env, new SplittableRandom(3), batch,
                    emb[1], emb[2])));
            Map<String, NodeInfo> qInputs = qformer.getInputInfo();
            if (qInputs.containsKey(QFormerGraph.INPUT_IDS)) {
                int text = ids[0].length;
                long[] flat = new long[batch * text];
                long[] mask = new long[batch * text];
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(ids[b], 0, flat, b * text, text);
                }
                java.util.Arrays.fill(mask, 1L);
                long[] shape = {batch, text};
                qformerIn.put(QFormerGraph.INPUT_IDS, own(OnnxTensor.createTensor(env, LongBuffer.wrap(flat), shape)));
                qformerIn.put(QFormerGraph.ATTENTION_MASK,
                        own(OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape)));
            }
        }

        void round() throws OrtException {
            for (Map<String, OnnxTensor> in : visionIn) {
                vision.run(in).close();
            }
            qformer.run(qformerIn).close();
        }

        private OnnxTensor own(OnnxTensor t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() throws OrtException {
            owned.forEach(OnnxTensor::close);
            vision.close();
            qformer.close();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: ImageSideTiming THREADS BATCH ROUNDS [--text N] [--generate-between TOKENS] PACKAGE");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int text = 8;
        Path pkg = null;
        int tokens = 0;
        for (int i = 3; i < args.length; i++) {
            if (args[i].equals("--text")) {
                text = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--generate-between")) {
                tokens = Integer.parseInt(args[++i]);
            } else {
                pkg = Path.of(args[i]);
            }
        }
        RuntimeOptions options = RuntimeOptions.cpu(threads).withVisionCacheBytes(0);
        Timing t;
        if (tokens > 0) {
            try (InstructBlipAnnotator model = InstructBlipAnnotator.open(pkg, options)) {
                int size = InstructBlipConfig.load(pkg).vision().imageSize();
                float[] chw = new float[3 * size * size];
                List<AnnotationInput> one = List.of(new AnnotationInput("between", new ImageTensor(chw, 3, size, size),
                        Prompts.CAPTION_TEMPLATE, Task.CAPTION, List.of(),
                        GenerationConfig.greedy(tokens).withMinNewTokens(tokens)));
                t = time(pkg, options, batch, text, rounds, () -> {
                    if (!model.annotate(one).get(0).isSuccess()) {
                        throw new IllegalStateException("the generation between the timed parts failed");
                    }
                });
            }
        } else {
            t = time(pkg, options, batch, text, rounds, () -> { });
        }
        System.out.printf(Locale.ROOT, "%s: %d threads, batch %d, %d rounds: through ImageEncoder %.2f ms/image "
                        + "(CPU %.2f), graphs alone %.2f ms/image (CPU %.2f); encoder / alone: %.3f wall, %.3f CPU%n",
                pkg, threads, batch, rounds, t.encoderMs(), t.encoderCpuMs(), t.graphsMs(), t.graphsCpuMs(),
                t.ratio(), t.cpuRatio());
    }
}
