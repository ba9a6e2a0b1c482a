package dev.loupe.model.image;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need libturbojpeg get it here: where the environment variable {@value #REQUIRED} is {@code true} (CI,
 * see .ci/run, which installs libturbojpeg0) a missing library fails them; elsewhere they are skipped, saying why.
 */
final class TurboJpeg {
    static final String REQUIRED = "LOUPE_TURBOJPEG_REQUIRED";

    private TurboJpeg() {
    }

    static TurboJpegDecoder required() {
        TurboJpegDecoder turbo = TurboJpegDecoder.shared();
        if (turbo == null) {
            if ("true".equalsIgnoreCase(System.getenv(REQUIRED))) {
                Assertions.fail(REQUIRED + "=true but " + TurboJpegDecoder.activeDecoder());
            }
            Assumptions.abort("libturbojpeg is not installed here: " + TurboJpegDecoder.activeDecoder());
        }
        return turbo;
    }

    /** One thread's work in {@link #allTrueOnThreads}: true when all it checked was right. */
    interface Worker {
        boolean test(int thread) throws Exception;
    }

    /** Whether {@code worker(t)} returned true on each of {@code threads} threads running at once. */
    static boolean allTrueOnThreads(int threads, Worker worker) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int index = t;
                results.add(pool.submit(() -> worker.test(index)));
            }
            boolean all = true;
            for (java.util.concurrent.Future<Boolean> r : results) {
                all &= r.get();
            }
            return all;
        } finally {
            pool.shutdown();
        }
    }
}
