package dev.loupe.model.api;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the model runtime executes: the ONNX Runtime execution provider and, for CUDA, which GPU; its thread count,
 * where converted checkpoints are cached and how many bytes of image features it keeps for reuse
 * ({@link #visionCacheBytes()}). Defaults come from the environment ({@code LOUPE_DEVICE} as
 * {@code cpu}, {@code cuda} or {@code cuda:N}, {@code LOUPE_THREADS}, {@code LOUPE_CACHE} or the system property
 * {@code loupe.cache}) so that every entry point shares one place per setting. Inside Flink the operator sets
 * {@link #deviceIndex()} from the TaskManager's GPU external resource (the runtime itself never imports Flink).
 * {@link #intraOpThreads()} sizes the one ONNX Runtime intra-op pool that all sessions of the process share; the
 * first model opened in a process fixes it ({@code dev.loupe.model.onnx.OrtSessions}, docs/models.md).
 * {@link #visionCacheBytes()} bounds each loaded model's cache of prompt-independent image features
 * ({@code dev.loupe.model.vision.VisionFeatures}); 0 disables it. {@link #runner()} picks how a fused LLaMA decoder
 * runs ({@link Runner}; {@code LOUPE_RUNNER} as {@code auto}, {@code ort-java} or {@code device-bound}).
 */
public record RuntimeOptions(Device device, int intraOpThreads, String cacheDir, int deviceIndex,
                             long visionCacheBytes, Runner runner) implements Serializable {

    /**
     * 64 MiB: small beside any model's weights (InstructBLIP-7B's are ~30 GB in fp32), yet it holds the ViT output of
     * ~45 InstructBLIP-7B images (257 x 1408 floats each), ~200 BLIP-2 query outputs or ~7 LLaVA-1.5-7B images
     * (576 x 4096): enough for the requests of one image that arrive close together (enrich's columns of a row, a
     * VQA stream's questions on one picture) to span several batches.
     */
    public static final long DEFAULT_VISION_CACHE_BYTES = 64L << 20;

    /** Execution provider. CUDA needs the {@code gpu} Maven profile (onnxruntime_gpu) and a CUDA host. */
    public enum Device { CPU, CUDA }

    /**
     * How the language model's decoder runs (docs/models.md, "The device-bound runner"). {@link #ORT_JAVA}: ONNX
     * Runtime's Java API, whose tensors are host memory, so on CUDA every step copies the KV cache to the GPU and
     * back. {@link #DEVICE_BOUND}: sessions bound with IoBinding through JavaCPP's ONNX Runtime preset, the KV cache
     * a buffer in the execution provider's memory; only token ids, lengths and the token choices (or logits when
     * asked) cross to the host per step. It serves packages with a fused decoder (LLaMA, float32 or fp16-compute, or
     * OPT); choosing it for another package is an error. {@link #AUTO}: device-bound on CUDA (for fused-decoder
     * packages; the others keep ort-java),
     * on CPU the one measured faster ({@link #resolve}).
     */
    public enum Runner {
        AUTO, ORT_JAVA, DEVICE_BOUND;

        /** The spelling of settings and flags: {@code auto}, {@code ort-java}, {@code device-bound}. */
        public String spec() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** A runner from its {@link #spec()} (case-insensitive). */
        public static Runner parse(String spec) {
            String s = spec.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            try {
                return valueOf(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown runner '" + spec + "': use auto, ort-java or device-bound",
                        e);
            }
        }

        /**
         * The runner {@link #AUTO} stands for on {@code device}: device-bound on CUDA; on CPU ort-java, which was as
         * fast or faster in docs/benchmarks.md's side-by-side run (both copy nothing of the cache on CPU).
         */
        public Runner resolve(Device device) {
            if (this != AUTO) {
                return this;
            }
            return device == Device.CUDA ? DEVICE_BOUND : ORT_JAVA;
        }
    }

    public RuntimeOptions {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = ONNX Runtime default)");
        }
        if (deviceIndex < 0) {
            throw new IllegalArgumentException("deviceIndex must be >= 0, got " + deviceIndex);
        }
        if (visionCacheBytes < 0) {
            throw new IllegalArgumentException("visionCacheBytes must be >= 0 (0 disables the cache), got "
                    + visionCacheBytes);
        }
        if (runner == null) {
            throw new IllegalArgumentException("runner must not be null");
        }
    }

    /** The {@link Runner#AUTO} runner. */
    public RuntimeOptions(Device device, int intraOpThreads, String cacheDir, int deviceIndex, long visionCacheBytes) {
        this(device, intraOpThreads, cacheDir, deviceIndex, visionCacheBytes, Runner.AUTO);
    }

    /** The default vision feature cache ({@link #DEFAULT_VISION_CACHE_BYTES}). */
    public RuntimeOptions(Device device, int intraOpThreads, String cacheDir, int deviceIndex) {
        this(device, intraOpThreads, cacheDir, deviceIndex, DEFAULT_VISION_CACHE_BYTES);
    }

    /** Device index 0 (the first GPU when the device is CUDA) and the default vision feature cache. */
    public RuntimeOptions(Device device, int intraOpThreads, String cacheDir) {
        this(device, intraOpThreads, cacheDir, 0);
    }

    public static RuntimeOptions defaults() {
        String device = System.getenv().getOrDefault("LOUPE_DEVICE", "cpu");
        String threads = System.getenv().getOrDefault("LOUPE_THREADS", "0");
        String cache = System.getProperty("loupe.cache", System.getenv().getOrDefault("LOUPE_CACHE",
                Path.of(System.getProperty("user.home"), ".cache", "loupe").toString()));
        String runner = System.getenv().getOrDefault("LOUPE_RUNNER", "auto");
        return new RuntimeOptions(Device.CPU, Integer.parseInt(threads.trim()), cache).withDeviceSpec(device)
                .withRunner(Runner.parse(runner));
    }

    /** CPU with a fixed thread count and the default cache: what tests and benchmarks use. */
    public static RuntimeOptions cpu(int intraOpThreads) {
        return defaults().withDevice(Device.CPU).withThreads(intraOpThreads);
    }

    /** The device of a spec {@code cpu}, {@code cuda} or {@code cuda:N} (case-insensitive). */
    public static Device parseDevice(String s) {
        String name = s.trim();
        int colon = name.indexOf(':');
        if (colon >= 0) {
            name = name.substring(0, colon);
        }
        try {
            return Device.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + s + "': use cpu, cuda or cuda:N", e);
        }
    }

    /** The device index of a spec: N of {@code cuda:N}, else 0. */
    public static int parseDeviceIndex(String s) {
        int colon = s.indexOf(':');
        if (colon < 0) {
            return 0;
        }
        try {
            int index = Integer.parseInt(s.substring(colon + 1).trim());
            if (index < 0) {
                throw new NumberFormatException("negative");
            }
            return index;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad device index in '" + s + "': use cuda:N with N >= 0", e);
        }
    }

    /** Device and index from a spec {@code cpu}, {@code cuda} or {@code cuda:N}. */
    public RuntimeOptions withDeviceSpec(String spec) {
        return new RuntimeOptions(parseDevice(spec), intraOpThreads, cacheDir, parseDeviceIndex(spec),
                visionCacheBytes, runner);
    }

    public RuntimeOptions withThreads(int threads) {
        return new RuntimeOptions(device, threads, cacheDir, deviceIndex, visionCacheBytes, runner);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, cacheDir, deviceIndex, visionCacheBytes, runner);
    }

    /** The GPU to run on when the device is CUDA (the CUDA device ordinal as the process sees it). */
    public RuntimeOptions withDeviceIndex(int index) {
        return new RuntimeOptions(device, intraOpThreads, cacheDir, index, visionCacheBytes, runner);
    }

    /** The bound of each loaded model's image feature cache, in bytes; 0 disables it. */
    public RuntimeOptions withVisionCacheBytes(long bytes) {
        return new RuntimeOptions(device, intraOpThreads, cacheDir, deviceIndex, bytes, runner);
    }

    /** How the language model's decoder runs ({@link Runner}). */
    public RuntimeOptions withRunner(Runner r) {
        return new RuntimeOptions(device, intraOpThreads, cacheDir, deviceIndex, visionCacheBytes, r);
    }

    /** The runner this device gets: {@link #runner()} with {@link Runner#AUTO} resolved. */
    public Runner effectiveRunner() {
        return runner.resolve(device);
    }

    public Path cachePath() {
        return Path.of(cacheDir);
    }
}
