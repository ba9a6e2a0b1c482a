package dev.loupe.model.tools;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.instructblip.ImageEncoder;
import dev.loupe.model.instructblip.QFormerGraph;
import dev.loupe.model.instructblip.VisionGraph;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.RowsPerRun;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Where a batch's image side spends its two threads: the vision runs and the Q-Former runs of an InstructBLIP
 * package, laid out several ways on the same prebuilt inputs, round by round so that every layout sees the same
 * machine load. Per layout it reports the wall time of each phase, the process CPU, each busy thread's CPU (from
 * {@code /proc/self/task/TID/schedstat}, nanoseconds on a core) and the straggler time at the end of the
 * side-by-side vision runs (the phase's end minus each caller's last run end, summed over callers).
 *
 * <p>Layouts: {@code pool} — sessions on the process's shared intra-op pool, vision runs side by side, Q-Former runs
 * one after another (each split over the pool); {@code poolq} — the same with the Q-Former runs side by side;
 * {@code single} — sessions with no intra-op pool of their own (one thread: each run wholly on its caller), vision
 * and Q-Former runs side by side; {@code whole} — single-threaded sessions, each caller running one image's whole
 * image side (vision, then a one-image Q-Former); {@code four} — as a graph that takes several images per run (fp32)
 * runs: vision runs of {@link ImageEncoder#VISION_RUN_IMAGES} images one after another on the pool, Q-Former runs too;
 * {@code fourq} — the same vision runs, the Q-Former runs side by side on a single-threaded session;
 * {@code fourp} — the same with the Q-Former runs side by side on the pool session. A digit at the end of a layout's
 * name ({@code single2}) sets the
 * images per Q-Former run (else {@link ImageEncoder#QFORMER_RUN_IMAGES}).
 *
 * <p>Usage: {@code ImageSideThreads THREADS BATCH ROUNDS PACKAGE [LAYOUT...]}
 */
public final class ImageSideThreads {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private ImageSideThreads() {}

    /** One layout's sessions and how it runs a batch. */
    private static final class Layout implements AutoCloseable {
        final String name;
        final OrtSession vision;
        final OrtSession qformer;
        final boolean qformerSideBySide;
        final boolean whole;
        final ConcurrentRuns runs;
        final int qformerRunImages;
        final int visionRunImages;
        final Map<Long, long[]> lastEnd = new ConcurrentHashMap<>();
        double visionMs;
        double qformerMs;
        double stragglerMs;
        double cpuMs;
        double wallMs;
        final Map<String, Double> threadMs = new TreeMap<>();

        Layout(String name, OrtSession vision, OrtSession qformer, boolean qformerSideBySide, boolean whole,
               int threads, int qformerRunImages, int visionRunImages) {
            this.name = name;
            this.vision = vision;
            this.qformer = qformer;
            this.qformerSideBySide = qformerSideBySide;
            this.whole = whole;
            this.runs = new ConcurrentRuns(threads, "side-" + name);
            this.qformerRunImages = qformerRunImages;
            this.visionRunImages = visionRunImages;
        }

        @Override
        public void close() throws OrtException {
            runs.close();
            vision.close();
            qformer.close();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: ImageSideThreads THREADS BATCH ROUNDS PACKAGE [pool|poolq|single|whole]...");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Path pkg = Path.of(args[3]);
        List<String> names = args.length > 4 ? List.of(args).subList(4, args.length)
                : List.of("pool", "poolq", "single", "whole");
        RuntimeOptions options = RuntimeOptions.cpu(threads).withVisionCacheBytes(0);
        OrtEnvironment env = OrtSessions.environment(options);
        Path visionFile = pkg.resolve(ImageEncoder.VISION_FILE);
        Path qformerFile = pkg.resolve(ImageEncoder.QFORMER_FILE);
        List<Layout> layouts = new ArrayList<>();
        for (String n : names) {
            boolean sharedVision = n.startsWith("pool") || n.startsWith("four");
            boolean sharedQFormer = n.startsWith("pool") || n.equals("four") || n.equals("fourp");
            OrtSession v = sharedVision ? OrtSessions.open(visionFile, options) : singleThreaded(env, visionFile);
            OrtSession q = sharedQFormer ? OrtSessions.open(qformerFile, options) : singleThreaded(env, qformerFile);
            int qImages = n.equals("whole") ? 1 : Character.isDigit(n.charAt(n.length() - 1))
                    ? n.charAt(n.length() - 1) - '0' : ImageEncoder.QFORMER_RUN_IMAGES;
            layouts.add(new Layout(n, v, q, !n.equals("pool") && !n.equals("four"), n.equals("whole"), threads,
                    qImages, n.startsWith("four") ? ImageEncoder.VISION_RUN_IMAGES : 1));
        }
        if (RowsPerRun.of(layouts.get(0).vision, ImageEncoder.VISION_RUN_IMAGES) != 1) {
            System.out.println("note: " + pkg + "'s vision graph takes several images per run; the tool runs one "
                    + "image per run all the same (compare its Q-Former phase)");
        }
        SplittableRandom random = new SplittableRandom(7);
        long[] px = ((ai.onnxruntime.TensorInfo) layouts.get(0).vision.getInputInfo().get(VisionGraph.PIXEL_VALUES)
                .getInfo()).getShape();
        long[] emb = ((ai.onnxruntime.TensorInfo) layouts.get(0).vision.getOutputInfo().get(VisionGraph.IMAGE_EMBEDS)
                .getInfo()).getShape();
        List<OnnxTensor> pixels = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            pixels.add(DecoderGraphTiming.floats(env, random, 1, px[1], px[2], px[3]));
        }
        OnnxTensor pixels4 = DecoderGraphTiming.floats(env, random, ImageEncoder.VISION_RUN_IMAGES, px[1], px[2],
                px[3]);
        Map<Integer, Map<String, OnnxTensor>> qformerIn = new HashMap<>();
        for (int n = 1; n <= ImageEncoder.QFORMER_RUN_IMAGES; n++) {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(QFormerGraph.IMAGE_EMBEDS, DecoderGraphTiming.floats(env, random, n, emb[1], emb[2]));
            if (layouts.get(0).qformer.getInputInfo().containsKey(QFormerGraph.INPUT_IDS)) {
                long[] ids = new long[n * 8];
                long[] mask = new long[n * 8];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 100 + i % 8;
                    mask[i] = 1;
                }
                in.put(QFormerGraph.INPUT_IDS, OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(ids),
                        new long[] {n, 8}));
                in.put(QFormerGraph.ATTENTION_MASK, OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(mask),
                        new long[] {n, 8}));
            }
            qformerIn.put(n, in);
        }
        for (int r = -2; r < rounds; r++) {
            for (Layout l : layouts) {
                round(l, pixels, pixels4, qformerIn, batch, r >= 0);
            }
        }
        System.out.printf(Locale.ROOT, "%s, %d threads, batch %d, %d rounds (load %.2f), ms per batch (means):%n",
                pkg, threads, batch, rounds, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        for (Layout l : layouts) {
            StringBuilder perThread = new StringBuilder();
            l.threadMs.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
                    .filter(e -> e.getValue() / rounds >= 1)
                    .forEach(e -> perThread.append(String.format(Locale.ROOT, " %s %.1f", e.getKey(),
                            e.getValue() / rounds)));
            System.out.printf(Locale.ROOT, "  %-7s wall %.1f (vision %.1f, stragglers %.1f; Q-Former %.1f), CPU %.1f "
                            + "(%.2f ms/image); threads:%s%n", l.name, l.wallMs / rounds, l.visionMs / rounds,
                    l.stragglerMs / rounds, l.qformerMs / rounds, l.cpuMs / rounds, l.cpuMs / rounds / batch,
                    perThread);
            l.close();
        }
    }

    private static void round(Layout l, List<OnnxTensor> pixels, OnnxTensor pixels4,
                              Map<Integer, Map<String, OnnxTensor>> qformerIn, int batch, boolean count)
            throws Exception {
        Map<String, Long> before = threadCpu();
        long cpu0 = CPU.getProcessCpuTime();
        long t0 = System.nanoTime();
        long t1;
        l.lastEnd.clear();
        if (l.whole) {
            l.runs.forEach(batch, i -> {
                l.vision.run(Map.of(VisionGraph.PIXEL_VALUES, pixels.get(i))).close();
                l.qformer.run(qformerIn.get(1)).close();
            });
            t1 = System.nanoTime();
        } else if (l.visionRunImages > 1) {
            for (int i = 0; i < batch / l.visionRunImages; i++) {
                l.vision.run(Map.of(VisionGraph.PIXEL_VALUES, pixels4)).close();
            }
            t1 = System.nanoTime();
            qformerPhase(l, qformerIn, batch);
        } else {
            l.runs.forEach(batch, i -> {
                l.vision.run(Map.of(VisionGraph.PIXEL_VALUES, pixels.get(i))).close();
                l.lastEnd.put(Thread.currentThread().getId(), new long[] {System.nanoTime()});
            });
            t1 = System.nanoTime();
            qformerPhase(l, qformerIn, batch);
        }
        long t2 = System.nanoTime();
        long cpu1 = CPU.getProcessCpuTime();
        finish(l, count, before, cpu0, cpu1, t0, t1, t2);
    }

    private static void qformerPhase(Layout l, Map<Integer, Map<String, OnnxTensor>> qformerIn, int batch)
            throws OrtException {
        {
            int qRuns = (batch + l.qformerRunImages - 1) / l.qformerRunImages;
            Map<String, OnnxTensor> in = qformerIn.get(l.qformerRunImages);
            if (l.qformerSideBySide) {
                l.runs.forEach(qRuns, i -> l.qformer.run(in).close());
            } else {
                for (int i = 0; i < qRuns; i++) {
                    l.qformer.run(in).close();
                }
            }
        }
    }

    private static void finish(Layout l, boolean count, Map<String, Long> before, long cpu0, long cpu1, long t0,
                               long t1, long t2) throws IOException {
        if (!count) {
            return;
        }
        Map<String, Long> after = threadCpu();
        l.wallMs += (t2 - t0) / 1e6;
        l.visionMs += (t1 - t0) / 1e6;
        l.qformerMs += (t2 - t1) / 1e6;
        l.cpuMs += (cpu1 - cpu0) / 1e6;
        for (long[] end : l.lastEnd.values()) {
            l.stragglerMs += (t1 - end[0]) / 1e6;
        }
        after.forEach((k, v) -> l.threadMs.merge(k, (v - before.getOrDefault(k, 0L)) / 1e6, Double::sum));
    }

    /** Each thread of the process ("tid:name") with its nanoseconds on a core. */
    static Map<String, Long> threadCpu() throws IOException {
        Map<String, Long> out = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String name = Files.readString(t.resolve("comm")).trim();
                    long ns = Long.parseLong(Files.readString(t.resolve("schedstat")).trim().split(" ")[0]);
                    out.put(name + "/" + t.getFileName(), ns);
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
    }

    /** A session with no intra-op pool of its own: every run wholly on the thread that calls it. */
    static OrtSession singleThreaded(OrtEnvironment env, Path graph) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(1);
            so.setInterOpNumThreads(1);
            so.addConfigEntry("session.intra_op.allow_spinning", "0");
            so.addConfigEntry("session.inter_op.allow_spinning", "0");
            return env.createSession(graph.toString(), so);
        }
    }
}
