package dev.loupe.model.instructblip;

import dev.loupe.model.Models;
import dev.loupe.model.onnx.Precision;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;

/**
 * Test program run in its own JVM (with a small -Xmx) by {@link LargeCheckpointConversionTest}: converts a
 * checkpoint and prints the time taken and the peak heap used. Arguments: checkpoint dir, package dir, dtype.
 */
public final class ConvertInSmallHeap {
    private ConvertInSmallHeap() {}

    public static void main(String[] args) throws Exception {
        long start = System.nanoTime();
        Models.convert(Path.of(args[0]), Path.of(args[1]), Precision.parse(args[2]));
        double seconds = (System.nanoTime() - start) / 1e9;
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        System.out.printf("converted in %.1f s; peak heap %d bytes (sum of pool peaks); max heap %d bytes%n",
                seconds, peak, Runtime.getRuntime().maxMemory());
        System.out.println("PEAK_HEAP=" + peak);
    }
}
