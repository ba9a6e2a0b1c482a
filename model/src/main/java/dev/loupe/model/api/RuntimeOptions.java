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
 * ({@code dev.loupe.model.vision.VisionFeatures}); 0 disables it.
 */
public record RuntimeOptions(Device device, int intraOpThreads, String cacheDir, int deviceIndex,
                             long visionCacheBytes) implements Serializable {

    /**
     * 64 MiB: small beside any model's weights (InstructBLIP-7B's are ~30 GB in fp32), yet it holds the ViT output of
     * ~45 InstructBLIP-7B images (257 x 1408 floats each), ~200 BLIP-2 query outputs or ~7 LLaVA-1.5-7B images
     * (576 x 4096): enough for the requests of one image that arrive close together (enrich's columns of a row, a
     * VQA stream's questions on one picture) to span several batches.
     */
    public static final long DEFAULT_VISION_CACHE_BYTES = 64L << 20;

    /** Execution provider. CUDA needs the {@code gpu} Maven profile (onnxruntime_gpu) and a CUDA host. */
    public enum Device { CPU, CUDA }

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
        return new RuntimeOptions(Device.CPU, Integer.parseInt(threads.trim()), cache).withDeviceSpec(device);
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
                visionCacheBytes);
    }

    public RuntimeOptions withThreads(int threads) {
        return new RuntimeOptions(device, threads, cacheDir, deviceIndex, visionCacheBytes);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, cacheDir, deviceIndex, visionCacheBytes);
    }

    /** The GPU to run on when the device is CUDA (the CUDA device ordinal as the process sees it). */
    public RuntimeOptions withDeviceIndex(int index) {
        return new RuntimeOptions(device, intraOpThreads, cacheDir, index, visionCacheBytes);
    }

    /** The bound of each loaded model's image feature cache, in bytes; 0 disables it. */
    public RuntimeOptions withVisionCacheBytes(long bytes) {
        return new RuntimeOptions(device, intraOpThreads, cacheDir, deviceIndex, bytes);
    }

    public Path cachePath() {
        return Path.of(cacheDir);
    }
}
