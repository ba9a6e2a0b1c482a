package dev.loupe.model.tools;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * GPU memory while a benchmark runs, as NVIDIA's driver reports it: {@code nvidia-smi} (NVML) polled on a daemon
 * thread for this process's used memory (its peak over the samples, and the last value) and the device's used and
 * total memory. ONNX Runtime's Java API exposes no figure for the CUDA provider's memory, and what the driver reports
 * is what a deployment has to fit: the CUDA context, cuBLAS/cuDNN workspaces and ONNX Runtime's arena, which keeps
 * what it once grew to (so "used" is a high-water mark of the arena, not of live tensors). A peak between two samples
 * can be missed. Where nvidia-smi is missing or fails, {@link #unavailable()} says why and no figures are reported.
 */
public final class GpuMemoryProbe implements AutoCloseable {
    /** The default sampling interval. */
    public static final Duration INTERVAL = Duration.ofMillis(100);
    private static final long MIB = 1024L * 1024L;

    /**
     * One reading in bytes; -1 where unknown (the process's figures stay unknown where nvidia-smi cannot see this
     * process's id, e.g. in a container with its own pid namespace: then the device's figures are the ones to read).
     */
    public record Reading(long processUsedBytes, long processPeakBytes, long deviceUsedBytes, long devicePeakBytes,
                          long deviceTotalBytes, int samples) {
        /** "peak 1234 MiB, at end 1200 MiB (this process); device 0: 5000 of 81559 MiB used, peak 5100 MiB". */
        public String describe(int deviceIndex) {
            String process = processPeakBytes < 0 ? "this process: not visible to nvidia-smi"
                    : String.format(Locale.ROOT, "this process: peak %d MiB, at end %d MiB",
                    processPeakBytes / MIB, processUsedBytes / MIB);
            String device = deviceTotalBytes < 0 ? "device " + deviceIndex + ": n/a"
                    : String.format(Locale.ROOT, "device %d: %d of %d MiB used at end, peak %d MiB", deviceIndex,
                    deviceUsedBytes / MIB, deviceTotalBytes / MIB, devicePeakBytes / MIB);
            return process + "; " + device + " (nvidia-smi, " + samples + " samples)";
        }
    }

    private final int deviceIndex;
    private final long pid;
    private final Duration interval;
    private final Thread thread;
    private volatile String unavailable;
    private long processUsed = -1;
    private long processPeak = -1;
    private long deviceUsed = -1;
    private long devicePeak = -1;
    private long deviceTotal = -1;
    private int samples;
    private volatile boolean stopped;

    private GpuMemoryProbe(int deviceIndex, Duration interval) {
        this.deviceIndex = deviceIndex;
        this.pid = ProcessHandle.current().pid();
        this.interval = interval;
        this.thread = new Thread(this::loop, "loupe-gpu-memory-probe");
        thread.setDaemon(true);
    }

    /** Takes a first sample now (so an unusable nvidia-smi shows at once), then one per {@code interval}. */
    public static GpuMemoryProbe start(int deviceIndex, Duration interval) {
        GpuMemoryProbe probe = new GpuMemoryProbe(deviceIndex, interval);
        probe.sample();
        if (probe.unavailable == null) {
            probe.thread.start();
        }
        return probe;
    }

    /** Why there are no figures, or null when there are. */
    public String unavailable() {
        return unavailable;
    }

    /** The figures so far (with a fresh sample). */
    public Reading read() {
        sample();
        synchronized (this) {
            return new Reading(processUsed, processPeak, deviceUsed, devicePeak, deviceTotal, samples);
        }
    }

    /** Starts the peaks again from the current values. */
    public synchronized void resetPeaks() {
        processPeak = processUsed;
        devicePeak = deviceUsed;
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }

    private void loop() {
        while (!stopped && unavailable == null) {
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            sample();
        }
    }

    private void sample() {
        if (unavailable != null) {
            return;
        }
        String index = "--id=" + deviceIndex;
        try {
            long[] device = parseDevice(run("nvidia-smi", index, "--query-gpu=memory.used,memory.total",
                    "--format=csv,noheader,nounits"));
            long process = parseProcess(run("nvidia-smi", index, "--query-compute-apps=pid,used_memory",
                    "--format=csv,noheader,nounits"), pid);
            synchronized (this) {
                deviceUsed = device[0] * MIB;
                deviceTotal = device[1] * MIB;
                devicePeak = Math.max(devicePeak, deviceUsed);
                if (process >= 0) {
                    processUsed = process * MIB;
                    processPeak = Math.max(processPeak, processUsed);
                }
                samples++;
            }
        } catch (IOException | RuntimeException e) {
            unavailable = "nvidia-smi: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("exit status " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    /** MiB used and total from {@code --query-gpu=memory.used,memory.total --format=csv,noheader,nounits}. */
    static long[] parseDevice(String csv) {
        for (String line : csv.split("\\R")) {
            String[] f = line.split(",");
            if (f.length == 2) {
                return new long[] {Long.parseLong(f[0].strip()), Long.parseLong(f[1].strip())};
            }
        }
        throw new IllegalArgumentException("unexpected memory query output: " + csv.strip());
    }

    /**
     * MiB used by {@code pid} from {@code --query-compute-apps=pid,used_memory --format=csv,noheader,nounits}, or -1
     * when the process is not listed (not on this GPU yet, or in another pid namespace).
     */
    static long parseProcess(String csv, long pid) {
        for (String line : csv.split("\\R")) {
            String[] f = line.split(",");
            if (f.length == 2 && !f[0].isBlank()) {
                try {
                    if (Long.parseLong(f[0].strip()) == pid) {
                        return Long.parseLong(f[1].strip());
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("unexpected compute-apps line: " + line.strip());
                }
            }
        }
        return -1;
    }
}
