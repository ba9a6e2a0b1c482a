import com.sun.jna.Memory;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * What the vision feature cache's copies cost (docs/benchmarks.md, "The vision feature cache off the heap (session
 * 10)"): thread CPU per copy of one InstructBLIP benchmark image's features (257 x 384 floats, 395 KB) into and out of
 * a native region of 169 slots (64 MiB's worth), cycling through the slots as a stream of distinct images does.
 * Single-file program on the build's classpath, with bin/loupe's collector flags (the copy out allocates its array):
 *
 *   java -XX:+UseSerialGC -Xms16m -XX:MinHeapFreeRatio=20 -XX:MaxHeapFreeRatio=40 -cp 'jobs/target/lib/*' \
 *       docs/bench/VisionCacheCopyCost.java [FLOATS] [ROUNDS]
 */
public final class VisionCacheCopyCost {
    public static void main(String[] args) {
        int floats = args.length > 0 ? Integer.parseInt(args[0]) : 257 * 384;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int slots = (int) ((64L << 20) / (floats * 4L + 128));
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        float[] features = new float[floats];
        for (int i = 0; i < floats; i++) {
            features[i] = i * 0.25f;
        }
        double sink = 0;
        try (Memory region = new Memory((long) floats * Float.BYTES * slots)) {
            for (int r = 0; r < rounds; r++) {
                long t0 = threads.getCurrentThreadCpuTime();
                for (int s = 0; s < slots; s++) {
                    region.write((long) s * floats * Float.BYTES, features, 0, floats);
                }
                long t1 = threads.getCurrentThreadCpuTime();
                for (int s = 0; s < slots; s++) {
                    float[] out = new float[floats];
                    region.read((long) s * floats * Float.BYTES, out, 0, floats);
                    sink += out[s % floats];
                }
                long t2 = threads.getCurrentThreadCpuTime();
                System.out.printf("round %d: copy in %.1f us, copy out (with its new array) %.1f us per %d floats%s%n",
                        r, (t1 - t0) / 1e3 / slots, (t2 - t1) / 1e3 / slots, floats,
                        r == 0 ? " (first touch of the region's pages)" : "");
            }
        }
        System.out.println("checksum " + sink);
    }
}
