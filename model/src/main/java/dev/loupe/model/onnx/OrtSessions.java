package dev.loupe.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The one place that gets the ONNX Runtime environment and creates sessions, the same way everywhere: full graph
 * optimisation and the CUDA execution provider on {@link RuntimeOptions#deviceIndex()} when asked for (which needs
 * the onnxruntime_gpu build: {@code mvn -Pgpu}, CUDA 12 and cuDNN 9 on the host).
 *
 * <p><b>Threads.</b> Every session of the process runs on ONE intra-op thread pool: the environment is created
 * with ONNX Runtime's global thread pools ({@link RuntimeOptions#intraOpThreads()} intra-op threads, 0 = as many as
 * the JVM may use ({@link #defaultIntraOpThreads()}); one inter-op thread; spinning off) and each session is created with
 * per-session threads disabled. A model's graphs (vision, Q-Former, embedding, decoder ...) run one after another,
 * so one pool serves them all; with a pool per session, each pool's workers spin for a while after every run and
 * take the cores away from the next graph and from the Java code between runs (measured in docs/benchmarks.md).
 * Spinning is off because the Java side of generation (logits processing, tensor set-up) runs between graph runs on
 * the same cores.
 *
 * <p><b>The first caller fixes the pool.</b> {@link OrtEnvironment} is a process-wide singleton whose threading is
 * fixed when it is created: the thread count of the first {@link #environment(RuntimeOptions)} or
 * {@link #open(Path, RuntimeOptions)} call in the process sizes the pool, and later callers with another
 * {@link RuntimeOptions#intraOpThreads()} share that pool (their thread count is ignored, and a warning is logged
 * once per differing count). Two models in one process (e.g. two operators in one Flink TaskManager) therefore
 * share one pool of the first model's size; give them the same thread count. If something outside this class
 * created the environment first (without global pools), sessions fall back to per-session pools of the asked
 * thread count, spinning off; {@link #sharedPool()} then says false.
 *
 * <p><b>Activation memory.</b> On the CPU, sessions take their activations from the C library's malloc, shared by
 * all of them, rather than from an arena each ({@link ActivationMemory}, {@link #activationMemory}).
 */
public final class OrtSessions {
    private static final Logger LOG = Logger.getLogger(OrtSessions.class.getName());

    private static OrtEnvironment environment;
    /** Intra-op threads of the global pool as asked for (0 = ORT default); -1: no global pool. */
    private static int poolThreads = -1;
    private static int warnedThreads = -1;

    /**
     * System property {@code true}: the shared pool's workers spin-wait for work after a run (ONNX Runtime's default)
     * instead of sleeping at once. Off by default (see the class comment); for measurements.
     */
    public static final String SPIN_PROPERTY = "loupe.ort.spinning";

    private OrtSessions() {}

    /**
     * The process's environment, created on first use with global thread pools of {@code options}' intra-op
     * thread count (see the class comment: the first call fixes it).
     */
    public static synchronized OrtEnvironment environment(RuntimeOptions options) {
        if (environment == null) {
            int threads = options.intraOpThreads();
            try (OrtEnvironment.ThreadingOptions t = new OrtEnvironment.ThreadingOptions()) {
                t.setGlobalIntraOpNumThreads(threads == 0 ? defaultIntraOpThreads() : threads);
                t.setGlobalInterOpNumThreads(1);
                t.setGlobalSpinControl(Boolean.getBoolean(SPIN_PROPERTY));
                environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                        OrtEnvironment.DEFAULT_NAME, t);
                poolThreads = threads;
            } catch (IllegalStateException e) {
                // the environment already exists without global pools: per-session pools from here on
                LOG.warning("ONNX Runtime environment was created elsewhere without global thread pools; "
                        + "sessions get their own pools: " + e.getMessage());
                environment = OrtEnvironment.getEnvironment();
                poolThreads = -1;
            } catch (OrtException e) {
                throw new IllegalStateException("cannot set ONNX Runtime's global thread pools: " + e.getMessage(), e);
            }
        } else if (poolThreads >= 0 && options.intraOpThreads() != poolThreads
                && options.intraOpThreads() != warnedThreads) {
            warnedThreads = options.intraOpThreads();
            LOG.warning("ONNX Runtime's shared thread pool was created with " + describe(poolThreads)
                    + "; a model asking for " + describe(options.intraOpThreads()) + " shares it");
        }
        return environment;
    }

    /** The process's environment; creates it, if nobody has yet, with {@link RuntimeOptions#defaults()}. */
    public static OrtEnvironment environment() {
        synchronized (OrtSessions.class) {
            if (environment != null) {
                return environment;
            }
        }
        return environment(RuntimeOptions.defaults());
    }

    /**
     * Where the activations of sessions opened with {@code options} live ({@link ActivationMemory#choose}: the C
     * library's malloc shared by all sessions where it can be told to keep freed memory, else an arena per session;
     * system property {@link ActivationMemory#PROPERTY} overrides).
     */
    public static ActivationMemory activationMemory(RuntimeOptions options) {
        return ActivationMemory.choose(System.getProperty(ActivationMemory.PROPERTY), options.device(),
                HostMalloc::keepFreedMemory);
    }

    /** Whether the sessions of this process share ONNX Runtime's global intra-op pool. */
    public static synchronized boolean sharedPool() {
        return environment != null && poolThreads >= 0;
    }

    /** The intra-op thread count the shared pool was created with (0 = {@link #defaultIntraOpThreads()}); -1 if none. */
    public static synchronized int sharedPoolThreads() {
        return environment == null ? -1 : poolThreads;
    }

    /**
     * System property naming a file prefix: when set, every session writes an ONNX Runtime profile (chrome trace
     * JSON, one per session, named after the prefix, the graph file and a timestamp; written when the session
     * closes). For measuring graph run times inside the application (docs/benchmarks.md); slows runs down a little.
     */
    public static final String PROFILE_PROPERTY = "loupe.ort.profile";

    /** A session over {@code model} on the shared pool (see the class comment). */
    public static OrtSession open(Path model, RuntimeOptions options) throws IOException {
        return open(model, options, profilePrefix(model));
    }

    /**
     * As {@link #open(Path, RuntimeOptions)}, writing an ONNX Runtime profile (chrome trace JSON) with the given
     * file prefix when {@code profilePrefix} is not null; {@link OrtSession#endProfiling()} ends it.
     */
    public static OrtSession open(Path model, RuntimeOptions options, String profilePrefix) throws IOException {
        return open(model, options, profilePrefix, false);
    }

    /**
     * System property: {@code false} opens the sessions that {@link #openOnCaller} would open on the shared pool
     * instead, as before (for A/B measurements in one build).
     */
    public static final String ON_CALLER_PROPERTY = "loupe.ort.runs-on-caller";

    /**
     * A CPU session whose runs execute wholly on the thread that calls {@code run}: no intra-op pool (one thread),
     * for graphs whose runs go side by side, one per core ({@link ConcurrentRuns}). On the shared pool each such run
     * would still hand every operator's parallel section to the pool's workers, which the other runs keep busy: the
     * runs wait on each other at every operator and the wake-ups cost CPU (measured in docs/benchmarks.md, "int8
     * image side: runs on their callers"). Results are those of a pool session: ONNX Runtime's CPU kernels split
     * work over rows and columns, never over a sum. On a GPU, or with {@link #ON_CALLER_PROPERTY} false, this is
     * {@link #open(Path, RuntimeOptions)}.
     */
    public static OrtSession openOnCaller(Path model, RuntimeOptions options) throws IOException {
        if (options.device() != RuntimeOptions.Device.CPU || !runsOnCaller()) {
            return open(model, options);
        }
        return open(model, options, profilePrefix(model), true);
    }

    /** The profile file prefix for {@code model} where {@link #PROFILE_PROPERTY} is set, else null. */
    private static String profilePrefix(Path model) {
        String profile = System.getProperty(PROFILE_PROPERTY);
        return profile == null || profile.isBlank() ? null
                : profile + "-" + model.getFileName().toString().replaceFirst("\\.onnx$", "");
    }

    /** Whether {@link #openOnCaller} gives sessions without a pool ({@link #ON_CALLER_PROPERTY}, default true). */
    public static boolean runsOnCaller() {
        return !"false".equalsIgnoreCase(System.getProperty(ON_CALLER_PROPERTY, "true").trim());
    }

    private static OrtSession open(Path model, RuntimeOptions options, String profilePrefix, boolean onCaller)
            throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new IOException("ONNX graph not found: " + model);
        }
        OrtEnvironment env = environment(options);
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (activationMemory(options) == ActivationMemory.MALLOC) {
                so.setCPUArenaAllocator(false);
                so.setMemoryPatternOptimization(false);
            }
            if (onCaller) {
                so.setIntraOpNumThreads(1);
                so.setInterOpNumThreads(1);
                so.addConfigEntry("session.intra_op.allow_spinning", "0");
                so.addConfigEntry("session.inter_op.allow_spinning", "0");
            } else if (sharedPool()) {
                so.disablePerSessionThreads();
            } else {
                if (options.intraOpThreads() > 0) {
                    so.setIntraOpNumThreads(options.intraOpThreads());
                }
                so.setInterOpNumThreads(1);
                so.addConfigEntry("session.intra_op.allow_spinning", "0");
                so.addConfigEntry("session.inter_op.allow_spinning", "0");
            }
            if (profilePrefix != null) {
                so.enableProfiling(profilePrefix);
            }
            if (options.device() == RuntimeOptions.Device.CUDA) {
                if (!cudaAvailable()) {
                    throw new IOException("CUDA was requested but this build has no CUDA execution provider (build "
                            + "with: mvn -Pgpu package; docs/deployment.md, \"GPU\")");
                }
                try {
                    // TF32 off: float32 graphs multiply in float32 on tensor-core GPUs, as BoundSessions does.
                    OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(options.deviceIndex());
                    cuda.add("use_tf32", "0");
                    so.addCUDA(cuda);
                } catch (OrtException | UnsatisfiedLinkError e) {
                    throw new IOException("cannot start the CUDA execution provider on device "
                            + options.deviceIndex() + " (needs the CUDA, cuBLAS and cuDNN 9 libraries the ONNX Runtime "
                            + "gpu build was built for on the library path, and a visible GPU): " + e.getMessage(), e);
                }
            }
            OrtSession session = env.createSession(model.toString(), so);
            if (activationMemory(options) == ActivationMemory.MALLOC) {
                HostMalloc.releaseFreeMemory();
            }
            return session;
        } catch (OrtException e) {
            throw new IOException("cannot load ONNX graph " + model + ": " + e.getMessage(), e);
        }
    }

    private static String describe(int threads) {
        return threads == 0 ? defaultIntraOpThreads() + " intra-op threads (the default)" : threads + " intra-op threads";
    }

    /**
     * The pool size when none is asked for: the processors the JVM may use, which honours a container's CPU limit
     * (ONNX Runtime's own default counts the host's physical cores, so a pod limited to 4 CPUs on a 64-core node
     * would run 32 or more threads on its 4). The model gets them all: the task threads that fetch and preprocess
     * the next batch meanwhile need a fraction of one core per request stream (measured in docs/benchmarks.md).
     */
    public static int defaultIntraOpThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Whether this ONNX Runtime build has the CUDA execution provider (onnxruntime_gpu). A GPU and its libraries
     * are still needed to start it.
     */
    public static boolean cudaAvailable() {
        try {
            return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return false;
        }
    }
}
