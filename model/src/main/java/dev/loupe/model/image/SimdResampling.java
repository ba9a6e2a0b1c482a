package dev.loupe.model.image;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
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
 */
final class SimdResampling {
    /** System property: {@code false} keeps the scalar passes even where the vector ones could run. */
    static final String ENABLED_PROPERTY = "loupe.resample.simd";
    static final String MODULE = "jdk.incubator.vector";

    private static final Logger LOG = Logger.getLogger(SimdResampling.class.getName());
    private static final Loaded LOADED = load();

    /** The passes (null: the scalar loops) and a sentence saying which and why. */
    private record Loaded(PillowResampler.Passes passes, String description) {}

    private SimdResampling() {}

    /** The vector passes, or null when the scalar loops run ({@link #description()} says why). */
    static PillowResampler.Passes passes() {
        return LOADED.passes;
    }

    /** One sentence: which resampling loops this process uses, and why. */
    static String description() {
        return LOADED.description;
    }

    private static Loaded load() {
        Loaded loaded = tryLoad();
        LOG.info(loaded.description);
        return loaded;
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
            return new Loaded(passes, "Pillow resampling: vector passes (" + MODULE + ", " + passes + ")");
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
}
