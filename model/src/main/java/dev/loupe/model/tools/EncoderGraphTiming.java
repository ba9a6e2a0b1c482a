package dev.loupe.model.tools;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.instructblip.ImageEncoder;
import dev.loupe.model.instructblip.QFormerGraph;
import dev.loupe.model.instructblip.VisionGraph;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.RowsPerRun;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The image side of InstructBLIP / BLIP-2 packages ({@value ImageEncoder#VISION_FILE} and
 * {@value ImageEncoder#QFORMER_FILE}) run alone, several packages side by side: each round runs every package's
 * vision graph and then its Q-Former once on the same fixed random inputs, so packages built by different code (plain
 * against fused ops, fp32 against int8) are compared under the same machine load. Only {@code session.run} is timed;
 * sessions come from {@link OrtSessions} (the shared pool). With {@code --ops}, it also writes the graph ONNX
 * Runtime actually runs (its optimized model, ALL_OPT) next to a temporary file and prints its op counts, which shows
 * what ONNX Runtime fuses by itself. A vision graph that takes one image per run ({@link RowsPerRun}: int8 towers) is
 * run once per image of the batch, as Loupe runs it.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.EncoderGraphTiming THREADS BATCH ROUNDS [--text N] [--ops]
 * PACKAGE...}
 */
public final class EncoderGraphTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private EncoderGraphTiming() {}

    /**
     * Milliseconds per image of one package's vision run and of its Q-Former run: the median wall time, and the mean
     * CPU time the process spent meanwhile (all threads; the pool does not spin, so this is the work done, which
     * depends less than wall time on what else the machine runs; a mean, as the clock ticks in 10 ms steps).
     */
    public record Timing(Path pkg, double visionMsPerImage, double qformerMsPerImage, double visionCpuMsPerImage,
                         double qformerCpuMsPerImage) {
        public double totalMsPerImage() {
            return visionMsPerImage + qformerMsPerImage;
        }

        public double totalCpuMsPerImage() {
            return visionCpuMsPerImage + qformerCpuMsPerImage;
        }
    }

    /** Times every package's two graphs at {@code batch} images, {@code rounds} interleaved rounds after warm-up. */
    public static List<Timing> time(List<Path> packages, RuntimeOptions options, int batch, int textLength,
                                    int rounds) throws IOException, OrtException {
        OrtEnvironment env = OrtSessions.environment(options);
        List<Runner> runners = new ArrayList<>();
        try {
            for (Path p : packages) {
                runners.add(new Runner(p, env, options, batch, textLength));
            }
            for (int w = 0; w < 2; w++) {
                for (Runner r : runners) {
                    r.round();
                }
            }
            double[][][] ms = new double[runners.size()][4][rounds];
            for (int i = 0; i < rounds; i++) {
                for (int p = 0; p < runners.size(); p++) {
                    double[] round = runners.get(p).round();
                    for (int m = 0; m < 4; m++) {
                        ms[p][m][i] = round[m];
                    }
                }
            }
            List<Timing> out = new ArrayList<>();
            for (int p = 0; p < runners.size(); p++) {
                out.add(new Timing(packages.get(p), median(ms[p][0]) / batch, median(ms[p][1]) / batch,
                        mean(ms[p][2]) / batch, mean(ms[p][3]) / batch));
            }
            return out;
        } finally {
            for (Runner r : runners) {
                r.close();
            }
        }
    }

    /** Op type (with its domain when not the default one) to count in the graph ONNX Runtime runs for {@code graph}. */
    public static Map<String, Integer> optimizedOpCounts(Path graph) throws IOException, OrtException {
        Path optimized = Files.createTempFile("optimized-", ".onnx");
        try {
            OrtEnvironment env = OrtSessions.environment();
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                so.setOptimizedModelFilePath(optimized.toString());
                so.disablePerSessionThreads();
                env.createSession(graph.toString(), so).close();
            }
            Map<String, Integer> counts = new TreeMap<>();
            try (InputStream in = Files.newInputStream(optimized)) {
                for (NodeProto n : ModelProto.parseFrom(in).getGraph().getNodeList()) {
                    counts.merge(n.getDomain().isEmpty() ? n.getOpType() : n.getDomain() + "." + n.getOpType(), 1,
                            Integer::sum);
                }
            }
            return counts;
        } finally {
            Files.deleteIfExists(optimized);
        }
    }

    /** The mean of v (also for {@link FusedDecoderTiming}). */
    static double mean(double[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    /** The median of v (also for {@link FusedDecoderTiming}). */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** One package's two sessions and their inputs. */
    private static final class Runner implements AutoCloseable {
        private final OrtSession vision;
        private final OrtSession qformer;
        private final List<OnnxTensor> owned = new ArrayList<>();
        private final Map<String, OnnxTensor> visionIn = new HashMap<>();
        private final Map<String, OnnxTensor> qformerIn = new HashMap<>();
        /** Vision runs per round: one per image where the graph takes one image per run ({@link RowsPerRun}). */
        private final int visionRuns;

        Runner(Path pkg, OrtEnvironment env, RuntimeOptions options, int batch, int textLength)
                throws IOException, OrtException {
            vision = OrtSessions.open(pkg.resolve(ImageEncoder.VISION_FILE), options);
            qformer = OrtSessions.open(pkg.resolve(ImageEncoder.QFORMER_FILE), options);
            SplittableRandom random = new SplittableRandom(11);
            long[] px = ((TensorInfo) vision.getInputInfo().get(VisionGraph.PIXEL_VALUES).getInfo()).getShape();
            int perRun = RowsPerRun.of(vision, batch);
            visionRuns = batch / perRun;
            if (batch % perRun != 0) {
                throw new IllegalArgumentException("batch " + batch + " is not a multiple of the " + perRun
                        + " images per run of " + pkg);
            }
            visionIn.put(VisionGraph.PIXEL_VALUES,
                    own(DecoderGraphTiming.floats(env, random, perRun, px[1], px[2], px[3])));
            long[] emb = ((TensorInfo) vision.getOutputInfo().get(VisionGraph.IMAGE_EMBEDS).getInfo()).getShape();
            qformerIn.put(QFormerGraph.IMAGE_EMBEDS,
                    own(DecoderGraphTiming.floats(env, random, batch, emb[1], emb[2])));
            Map<String, NodeInfo> qInputs = qformer.getInputInfo();
            if (qInputs.containsKey(QFormerGraph.INPUT_IDS)) {
                long[] ids = new long[batch * textLength];
                long[] mask = new long[batch * textLength];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 100 + i % textLength;
                    mask[i] = 1;
                }
                long[] shape = {batch, textLength};
                qformerIn.put(QFormerGraph.INPUT_IDS, own(OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape)));
                qformerIn.put(QFormerGraph.ATTENTION_MASK,
                        own(OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape)));
            }
        }

        /** Wall milliseconds of one vision run and one Q-Former run, then the process CPU milliseconds of each. */
        double[] round() throws OrtException {
            long cpuStart = CPU.getProcessCpuTime();
            long start = System.nanoTime();
            for (int r = 0; r < visionRuns; r++) {
                vision.run(visionIn).close();
            }
            long mid = System.nanoTime();
            long cpuMid = CPU.getProcessCpuTime();
            qformer.run(qformerIn).close();
            long end = System.nanoTime();
            long cpuEnd = CPU.getProcessCpuTime();
            return new double[] {(mid - start) / 1e6, (end - mid) / 1e6, (cpuMid - cpuStart) / 1e6,
                    (cpuEnd - cpuMid) / 1e6};
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
            System.err.println("usage: EncoderGraphTiming THREADS BATCH ROUNDS [--text N] [--ops] PACKAGE...");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int text = 8;
        boolean ops = false;
        List<Path> packages = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            switch (args[i]) {
                case "--text" -> text = Integer.parseInt(args[++i]);
                case "--ops" -> ops = true;
                default -> packages.add(Path.of(args[i]));
            }
        }
        RuntimeOptions options = RuntimeOptions.cpu(threads);
        OrtSessions.environment(options);
        if (ops) {
            for (Path p : packages) {
                for (String f : List.of(ImageEncoder.VISION_FILE, ImageEncoder.QFORMER_FILE)) {
                    System.out.printf(Locale.ROOT, "%s/%s as ONNX Runtime runs it: %s%n", p, f,
                            optimizedOpCounts(p.resolve(f)));
                }
            }
        }
        List<Timing> timings = time(packages, options, batch, text, rounds);
        Timing first = timings.get(0);
        for (Timing t : timings) {
            System.out.printf(Locale.ROOT, "%s: %d threads, batch %d: vision %.2f ms/image, Q-Former %.2f ms/image, "
                            + "total %.2f ms/image (%.2fx the first); CPU ms/image: vision %.2f, Q-Former %.2f, "
                            + "total %.2f (%.2fx the first)%n", t.pkg(), threads, batch,
                    t.visionMsPerImage(), t.qformerMsPerImage(), t.totalMsPerImage(),
                    first.totalMsPerImage() / t.totalMsPerImage(), t.visionCpuMsPerImage(),
                    t.qformerCpuMsPerImage(), t.totalCpuMsPerImage(),
                    first.totalCpuMsPerImage() / t.totalCpuMsPerImage());
        }
    }
}
