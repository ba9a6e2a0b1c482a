package dev.loupe.model.api;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the model runtime executes: the ONNX Runtime execution provider, its thread count and where converted
 * checkpoints are cached. Defaults come from the environment ({@code LOUPE_DEVICE}, {@code LOUPE_THREADS},
 * {@code LOUPE_CACHE} or the system property {@code loupe.cache}) so that every entry point shares one place per setting.
 */
public record RuntimeOptions(Device device, int intraOpThreads, String cacheDir) implements Serializable {

    /** Execution provider. CUDA needs the {@code gpu} Maven profile (onnxruntime_gpu) and a CUDA host. */
    public enum Device { CPU, CUDA }

    public RuntimeOptions {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = ONNX Runtime default)");
        }
    }

    public static RuntimeOptions defaults() {
        String device = System.getenv().getOrDefault("LOUPE_DEVICE", "cpu");
        String threads = System.getenv().getOrDefault("LOUPE_THREADS", "0");
        String cache = System.getProperty("loupe.cache", System.getenv().getOrDefault("LOUPE_CACHE",
                Path.of(System.getProperty("user.home"), ".cache", "loupe").toString()));
        return new RuntimeOptions(parseDevice(device), Integer.parseInt(threads.trim()), cache);
    }

    /** CPU with a fixed thread count and the default cache: what tests and benchmarks use. */
    public static RuntimeOptions cpu(int intraOpThreads) {
        return defaults().withDevice(Device.CPU).withThreads(intraOpThreads);
    }

    public static Device parseDevice(String s) {
        try {
            return Device.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + s + "': use cpu or cuda", e);
        }
    }

    public RuntimeOptions withThreads(int threads) {
        return new RuntimeOptions(device, threads, cacheDir);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, cacheDir);
    }

    public Path cachePath() {
        return Path.of(cacheDir);
    }
}
