package dev.loupe.model.tools;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of this process over a measured span: the Java heap (sum of the heap pools' peak usage from the
 * memory MXBeans) and the resident set (Linux {@code VmHWM}; ONNX Runtime allocates natively, outside the heap).
 * {@link #resetPeaks()} starts a new span where the platform allows (the resident peak via
 * {@code /proc/self/clear_refs}; where that is refused it stays the peak since process start).
 */
public final class ProcessResources {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ProcessResources() {}

    /** Resets the heap pools' peaks and, when permitted, the resident-set high-water mark; true if RSS was reset. */
    public static boolean resetPeaks() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid()) {
                pool.resetPeakUsage();
            }
        }
        try {
            Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
            return true;
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Sum of the heap pools' peak usage since the last reset, in bytes. */
    public static long heapPeakBytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid() && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    /** Current heap use (MemoryMXBean), in bytes. */
    public static long heapUsedBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Peak resident set size ({@code VmHWM}) in bytes, or -1 where /proc is not available. */
    public static long residentPeakBytes() {
        return statusKiB("VmHWM:");
    }

    /** CPU time of this process so far (all threads, native ones included), in nanoseconds; -1 if unknown. */
    public static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /**
     * The JVM's memory set-up, for benchmark reports: its collectors (e.g. "Copy, MarkSweepCompact" for the serial
     * collector bin/loupe picks) and its initial and maximum heap in MiB.
     */
    public static String jvmMemorySetup() {
        StringBuilder gcs = new StringBuilder();
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.append(gcs.length() == 0 ? "" : ", ").append(gc.getName());
        }
        java.lang.management.MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return "collectors " + gcs + ", initial heap " + (heap.getInit() >> 20) + " MiB, maximum heap "
                + (heap.getMax() < 0 ? "unbounded" : (heap.getMax() >> 20) + " MiB");
    }

    /** Current resident set size ({@code VmRSS}) in bytes, or -1. */
    public static long residentBytes() {
        return statusKiB("VmRSS:");
    }

    private static long statusKiB(String field) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(field)) {
                    String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
