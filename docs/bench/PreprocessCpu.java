import com.sun.management.ThreadMXBean;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.image.BlipImageProcessor;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The caption job's per-image preprocessing on real JPEGs, run against any build's jars (source-file mode, see
 * preprocess_pairs.sh): BlipImageProcessor.preprocess(bytes, thumbnail side, reused tensor buffer) over every file of
 * a folder, warm-up passes first. Prints one line: the measuring thread's CPU ms/image, the process's CPU ms/image
 * (JIT and GC threads included), wall ms/image, heap bytes allocated per image by the thread, GC count, and a checksum
 * of every tensor value and thumbnail byte of one more, unmeasured pass (equal checksums across builds: the same output, bit for bit).
 *
 * <p>Usage: java -cp 'BUILD/jobs/target/lib/*' PreprocessCpu.java CHECKPOINT IMAGE_DIR WARMUP_PASSES PASSES THUMB
 */
public final class PreprocessCpu {
    public static void main(String[] args) throws Exception {
        Path checkpoint = Path.of(args[0]);
        List<byte[]> images = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of(args[1]))) {
            for (Path f : files.sorted().toList()) {
                images.add(Files.readAllBytes(f));
            }
        }
        int warmup = Integer.parseInt(args[2]);
        int passes = Integer.parseInt(args[3]);
        int thumb = Integer.parseInt(args[4]);
        BlipImageProcessor p = BlipImageProcessor.fromCheckpoint(checkpoint);
        float[][] buffer = new float[1][];
        java.util.function.IntFunction<float[]> buffers = n -> {
            if (buffer[0] == null || buffer[0].length != n) {
                buffer[0] = new float[n];
            }
            return buffer[0];
        };
        for (int i = 0; i < warmup; i++) {
            pass(p, images, thumb, buffers, false);
        }
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long gc0 = gcCount();
        long alloc0 = threads.getCurrentThreadAllocatedBytes();
        long cpu0 = threads.getCurrentThreadCpuTime();
        long proc0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        for (int i = 0; i < passes; i++) {
            pass(p, images, thumb, buffers, false);
        }
        long wall = System.nanoTime() - t0;
        long proc = os.getProcessCpuTime() - proc0;
        long cpu = threads.getCurrentThreadCpuTime() - cpu0;
        long alloc = threads.getCurrentThreadAllocatedBytes() - alloc0;
        long n = (long) passes * images.size();
        long checksum = pass(p, images, thumb, buffers, true);
        System.out.printf(java.util.Locale.ROOT,
                "images=%d thread_cpu_ms=%.3f process_cpu_ms=%.3f wall_ms=%.3f alloc_kb=%.1f gcs=%d checksum=%016x%n",
                n, cpu / 1e6 / n, proc / 1e6 / n, wall / 1e6 / n, alloc / 1024.0 / n, gcCount() - gc0, checksum);
    }

    private static long pass(BlipImageProcessor p, List<byte[]> images, int thumb,
                             java.util.function.IntFunction<float[]> buffers, boolean hash) throws Exception {
        long h = 1;
        for (byte[] image : images) {
            ImagePreprocessor.Preprocessed out = p.preprocess(image, thumb, buffers);
            if (!hash) {
                continue;
            }
            float[] v = out.tensor().chw();
            for (float f : v) {
                h = h * 31 + Float.floatToRawIntBits(f);
            }
            if (out.thumbnail() != null) {
                for (byte b : out.thumbnail().rgb()) {
                    h = h * 31 + b;
                }
            }
        }
        return h;
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += gc.getCollectionCount();
        }
        return n;
    }
}
