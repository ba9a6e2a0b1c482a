package dev.loupe.model.image;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * Chooses, once per class loader, whether {@link PillowResampler} sums with the incubating Vector API
 * ({@code jdk.incubator.vector}, {@link VectorPasses}) or with its scalar loops. Both give the same bytes (integer
 * sums in any order); the vector passes are several times cheaper where C2 compiles them to SIMD instructions and
 * far slower where it does not, so they are used only when every condition holds:
 * <ul>
 *   <li>{@code -Dloupe.resample.simd} is not {@code false} (the switch for A/B runs, or for anyone who would rather
 *       not run incubator code);</li>
 *   <li>the JVM resolved the module ({@code --add-modules jdk.incubator.vector}: {@code bin/loupe}, the tests and the
 *       documented Flink settings pass it); {@link VectorPasses} is loaded only then, so without the flag no class
 *       of the module is ever touched;</li>
 *   <li>the JIT has C2 (the Vector API's intrinsics are C2's: under {@code -XX:TieredStopAtLevel=1}, as in the
 *       development cluster's JVMs, or {@code -Xint}, every vector operation would allocate);</li>
 *   <li>the CPU's preferred vector holds at least 8 ints (AVX2 or AVX-512; not 128-bit NEON or SSE).</li>
 * </ul>
 * One log line says which path is active and why.
 *
 * <p>Before C2 has compiled them, vector operations run interpreted or in C1 code that allocates at every step: the
 * first 640x480 resize took about 0.2 s of its thread's CPU and 0.5 s of the process's (the JIT's work included), a
 * scalar one 0.03 s. So the process's passes ({@link #defaultPasses()}) stay scalar for its first
 * {@value #SCALAR_PASSES} passes (a command that resizes a few images never pays that; see
 * {@link #SCALAR_PASSES_PROPERTY}); then one daemon thread warms the vector passes up on small generated images
 * (about a second of CPU, once per process), checking every result against the scalar passes, and the vector passes
 * are used from the next pass on (if a result ever differed, the scalar ones stay, with a warning).
 */
final class SimdResampling {
    /** System property: {@code false} keeps the scalar passes even where the vector ones could run. */
    static final String ENABLED_PROPERTY = "loupe.resample.simd";
    static final String MODULE = "jdk.incubator.vector";

    /**
     * System property: how many passes (two per resize that changes both sizes) run scalar before the vector ones
     * are warmed up in the background, default {@value #SCALAR_PASSES}; 0 warms them up at once, on the thread that
     * first resizes (about a second), and uses them from the first pass (the build's tests do so).
     */
    static final String SCALAR_PASSES_PROPERTY = "loupe.resample.simd.scalar-passes";
    static final int SCALAR_PASSES = 128;
    /** Warm-up rounds: enough for C2 to compile every vector loop (about 60 rounds on the machine measured). */
    private static final int WARM_UP_ROUNDS = 300;

    private static final Logger LOG = Logger.getLogger(SimdResampling.class.getName());
    private static final Loaded LOADED = tryLoad();

    static {
        LOG.info(LOADED.description);
    }

    /** The passes (null: the scalar loops) and a sentence saying which and why. */
    private record Loaded(PillowResampler.Passes passes, String description) {}

    private SimdResampling() {}

    /** The vector passes, or null when the scalar loops run ({@link #description()} says why). */
    static PillowResampler.Passes passes() {
        return LOADED.passes;
    }

    /** The process's passes: scalar, or scalar until the vector ones are warmed up and checked. */
    static PillowResampler.Passes defaultPasses() {
        if (LOADED.passes == null) {
            return PillowResampler.SCALAR;
        }
        int scalarPasses = scalarPasses();
        Warming warming = new Warming(LOADED.passes, scalarPasses);
        if (scalarPasses == 0) {
            warming.warmUpAndCheck();
            return warming.warm ? LOADED.passes : PillowResampler.SCALAR;
        }
        return warming;
    }

    private static int scalarPasses() {
        String value = System.getProperty(SCALAR_PASSES_PROPERTY, String.valueOf(SCALAR_PASSES)).trim();
        try {
            int n = Integer.parseInt(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        LOG.warning("-D" + SCALAR_PASSES_PROPERTY + "=" + value + " is not a count of passes (0 or more); using "
                + SCALAR_PASSES);
        return SCALAR_PASSES;
    }

    /** One sentence: which resampling loops this process uses, and why. */
    static String description() {
        return LOADED.description;
    }

    private static Loaded tryLoad() {
        if ("false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY, "true").trim())) {
            return scalar("-D" + ENABLED_PROPERTY + "=false");
        }
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            return scalar("the JVM runs without --add-modules " + MODULE);
        }
        String noC2 = withoutC2();
        if (noC2 != null) {
            return scalar(noC2);
        }
        try {
            Object found = Class.forName(SimdResampling.class.getPackageName() + ".VectorPasses")
                    .getMethod("create").invoke(null);
            if (found instanceof String reason) {
                return scalar(reason);
            }
            PillowResampler.Passes passes = (PillowResampler.Passes) found;
            return new Loaded(passes, "Pillow resampling: vector passes (" + MODULE + ", " + passes
                    + "), after " + scalarPasses() + " scalar passes and a warm-up");
        } catch (ReflectiveOperationException | LinkageError e) {
            return scalar(MODULE + " did not load: " + e);
        }
    }

    private static Loaded scalar(String why) {
        return new Loaded(null, "Pillow resampling: scalar passes (" + why + ")");
    }

    /** Why this JVM has no C2 to compile vector code, or null when it has one (or its flags cannot be read). */
    private static String withoutC2() {
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) {
            return "the JVM runs interpreted (-Xint)";
        }
        try {
            HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (hotspot == null) {
                return null;
            }
            boolean tiered = Boolean.parseBoolean(hotspot.getVMOption("TieredCompilation").getValue());
            int stopAt = Integer.parseInt(hotspot.getVMOption("TieredStopAtLevel").getValue());
            if (tiered && stopAt < 4) {
                return "the JIT stops at tier " + stopAt + " (-XX:TieredStopAtLevel): no C2 for vector code";
            }
            return null;
        } catch (RuntimeException e) {
            return null; // another JVM's flags: let the vector passes decide by their species
        }
    }

    /** Scalar passes until {@code vector} is warmed up in the background and gave the scalar passes' bytes. */
    static final class Warming implements PillowResampler.Passes {
        private final PillowResampler.Passes vector;
        private final int scalarPasses;
        private final AtomicInteger calls = new AtomicInteger();
        private final AtomicBoolean started = new AtomicBoolean();
        private final CountDownLatch finished = new CountDownLatch(1);
        private volatile boolean warm;

        Warming(PillowResampler.Passes vector, int scalarPasses) {
            this.vector = vector;
            this.scalarPasses = scalarPasses;
        }

        /** The passes a call uses now. */
        PillowResampler.Passes current() {
            if (warm) {
                return vector;
            }
            if (!started.get() && calls.incrementAndGet() >= scalarPasses) {
                startWarmUp();
            }
            return PillowResampler.SCALAR;
        }

        /** Starts the warm-up now if it has not started, and waits for it; true when the vector passes are in use. */
        boolean warmUp(Duration timeout) throws InterruptedException {
            startWarmUp();
            return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && warm;
        }

        void startWarmUp() {
            if (started.compareAndSet(false, true)) {
                Thread t = new Thread(this::warmUpAndCheck, "loupe-resample-warm-up");
                t.setDaemon(true);
                t.setPriority(Thread.MIN_PRIORITY);
                t.start();
            }
        }

        void warmUpAndCheck() {
            try {
                long cpu0 = threadCpu();
                // a downscale and an upscale whose rows take every vector loop and the scalar remainders
                RgbImage large = generated(96, 80);
                RgbImage small = generated(40, 36);
                for (int round = 0; round < WARM_UP_ROUNDS; round++) {
                    for (PillowResampler.Filter filter : PillowResampler.Filter.values()) {
                        if (!sameBytes(filter, large, 40, 36) || !sameBytes(filter, small, 97, 81)) {
                            LOG.warning("Pillow resampling: the vector passes gave other bytes than the scalar ones on "
                                    + "a warm-up image (" + filter + "); the scalar passes stay in use");
                            return;
                        }
                    }
                }
                warm = true;
                LOG.info(String.format(Locale.ROOT, "Pillow resampling: vector passes warmed up and checked in %.0f ms "
                        + "of CPU, in use from now on", (threadCpu() - cpu0) / 1e6));
            } catch (RuntimeException | LinkageError e) {
                LOG.warning("Pillow resampling: the vector passes failed while warming up (" + e
                        + "); the scalar passes stay in use");
            } finally {
                finished.countDown();
            }
        }

        private boolean sameBytes(PillowResampler.Filter filter, RgbImage in, int w, int h) {
            return Arrays.equals(new PillowResampler(filter, vector).resize(in, w, h).rgb(),
                    new PillowResampler(filter, PillowResampler.SCALAR).resize(in, w, h).rgb());
        }

        private static RgbImage generated(int w, int h) {
            byte[] rgb = new byte[3 * w * h];
            new Random(w * 31L + h).nextBytes(rgb);
            return new RgbImage(w, h, rgb);
        }

        private static long threadCpu() {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0L;
        }

        @Override
        public void horizontal(RgbRows in, int firstRow, int rows, int outW, PillowResampler.Coefficients c,
                               byte[] out) {
            current().horizontal(in, firstRow, rows, outW, c, out);
        }

        @Override
        public void vertical(byte[] src, int w, int rowOffset, int outH, PillowResampler.Coefficients c, byte[] out) {
            current().vertical(src, w, rowOffset, outH, c, out);
        }

        @Override
        public String toString() {
            return warm ? vector.toString() : "scalar until the vector passes (" + vector + ") are warmed up";
        }
    }
}
