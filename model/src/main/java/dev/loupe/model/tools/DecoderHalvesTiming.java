package dev.loupe.model.tools;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.OrtSessions;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A package's fused decoder at one batch size, run whole against the same rows cut into parts that run side by side
 * on the shared pool (one session, each part over its own cache rows): whether one run of the batch keeps the pool's
 * threads busy. Each round runs, for every part count, a prefill and one step after it; reports the median wall time
 * and the mean process CPU time per run of the batch.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.DecoderHalvesTiming THREADS BATCH PREFIX ROUNDS PACKAGE [PARTS...]}
 * (parts default 1 2). With {@code -Dsteps=N} it then runs N steps (N prefills with {@code -Dprefill=true}) per part
 * count and reports each thread's CPU time per run (from {@code /proc/self/task}, 10 ms ticks: use N of 40 or more)
 * and the minor page faults: whether the pool's worker thread is busy or waiting (Linux only).
 */
public final class DecoderHalvesTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private DecoderHalvesTiming() {}

    /** utime + stime clock ticks of each thread of this process, by "tid name". */
    static java.util.Map<String, Long> threadTicks() throws java.io.IOException {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        try (var tasks = java.nio.file.Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String stat = java.nio.file.Files.readString(t.resolve("stat"));
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                out.put(t.getFileName() + ":" + name, Long.parseLong(f[11]) + Long.parseLong(f[12]));
            }
        }
        return out;
    }

    /** The process's minor page faults so far. */
    static long minorFaults() throws java.io.IOException {
        String stat = java.nio.file.Files.readString(Path.of("/proc/self/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[7]);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: DecoderHalvesTiming THREADS BATCH PREFIX ROUNDS PACKAGE [PARTS...]");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int prefix = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        Path pkg = Path.of(args[4]);
        List<Integer> partCounts = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            partCounts.add(Integer.parseInt(args[i]));
        }
        if (partCounts.isEmpty()) {
            partCounts = List.of(1, 2);
        }
        RuntimeOptions options = RuntimeOptions.cpu(threads);
        OrtEnvironment env = OrtSessions.environment(options);
        try (OrtSession session = OrtSessions.open(pkg.resolve("decoder.onnx"), options);
             ConcurrentRuns side = ConcurrentRuns.forSharedPool(threads, "halves")) {
            List<List<FusedDecoderTiming.Runner>> setups = new ArrayList<>();
            for (int parts : partCounts) {
                List<FusedDecoderTiming.Runner> runners = new ArrayList<>();
                for (int p = 0; p < parts; p++) {
                    int rows = batch / parts + (p < batch % parts ? 1 : 0);
                    runners.add(new FusedDecoderTiming.Runner(session, false, env, rows, prefix));
                }
                setups.add(runners);
            }
            double[][][] ms = new double[setups.size()][4][rounds];
            for (int i = -2; i < rounds; i++) {
                for (int s = 0; s < setups.size(); s++) {
                    List<FusedDecoderTiming.Runner> runners = setups.get(s);
                    long cpu0 = CPU.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    side.forEach(runners.size(), p -> runners.get(p).prefill());
                    long t1 = System.nanoTime();
                    long cpu1 = CPU.getProcessCpuTime();
                    side.forEach(runners.size(), p -> runners.get(p).step());
                    long t2 = System.nanoTime();
                    long cpu2 = CPU.getProcessCpuTime();
                    if (i >= 0) {
                        ms[s][0][i] = (t1 - t0) / 1e6;
                        ms[s][1][i] = (t2 - t1) / 1e6;
                        ms[s][2][i] = (cpu1 - cpu0) / 1e6;
                        ms[s][3][i] = (cpu2 - cpu1) / 1e6;
                    }
                }
            }
            for (int s = 0; s < setups.size(); s++) {
                System.out.printf(Locale.ROOT, "%s: %d threads, batch %d in %d part(s) side by side, prefix %d: "
                                + "prefill %.2f ms (CPU %.2f), step %.2f ms (CPU %.2f); %.2fx / %.2fx the first%n",
                        pkg, threads, batch, partCounts.get(s), prefix, EncoderGraphTiming.median(ms[s][0]),
                        EncoderGraphTiming.mean(ms[s][2]), EncoderGraphTiming.median(ms[s][1]),
                        EncoderGraphTiming.mean(ms[s][3]),
                        EncoderGraphTiming.median(ms[0][0]) / EncoderGraphTiming.median(ms[s][0]),
                        EncoderGraphTiming.median(ms[0][1]) / EncoderGraphTiming.median(ms[s][1]));
            }
            int steps = Integer.getInteger("steps", 0);
            for (int s = 0; s < setups.size() && steps > 0; s++) {
                List<FusedDecoderTiming.Runner> runners = setups.get(s);
                java.util.Map<String, Long> before = threadTicks();
                long faults0 = minorFaults();
                long t0 = System.nanoTime();
                boolean prefill = Boolean.getBoolean("prefill");
                for (int i = 0; i < steps; i++) {
                    if (prefill) {
                        side.forEach(runners.size(), p -> runners.get(p).prefill());
                    } else {
                        side.forEach(runners.size(), p -> runners.get(p).step());
                    }
                }
                long t1 = System.nanoTime();
                long faults = minorFaults() - faults0;
                java.util.Map<String, Long> after = threadTicks();
                StringBuilder busy = new StringBuilder();
                after.forEach((t, v) -> {
                    long d = v - before.getOrDefault(t, 0L);
                    if (d > 2) {
                        busy.append(' ').append(t).append('=').append(d * 10.0 / steps).append("ms");
                    }
                });
                System.out.printf(Locale.ROOT, "%d parts: %d %s, %.2f ms each wall, %d minor faults each; per-thread CPU "
                                + "each:%s%n", partCounts.get(s), steps, prefill ? "prefills" : "steps",
                        (t1 - t0) / 1e6 / steps, faults / steps, busy);
            }
            for (List<FusedDecoderTiming.Runner> runners : setups) {
                for (FusedDecoderTiming.Runner r : runners) {
                    r.close();
                }
            }
        }
    }
}
