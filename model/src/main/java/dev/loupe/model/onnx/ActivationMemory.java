package dev.loupe.model.onnx;

import dev.loupe.model.api.RuntimeOptions;
import java.util.function.BooleanSupplier;

/**
 * Where a CPU session's activations (the intermediate tensors of a run) live. It decides much of a process's peak
 * resident memory: a model's sessions run one after another, so one pool they all reuse needs about the largest
 * session's activations, while an arena per session keeps each session's largest activations for good
 * (docs/benchmarks.md, peak RSS: 88 MiB less for the benchmark checkpoint's fp32 package at batch 16, 124 MiB for
 * its int8 one, at the same CPU time).
 */
public enum ActivationMemory {
    /** ONNX Runtime's CPU arena per session, with memory-pattern planning (one block per run, planned per shape). */
    ARENA,
    /**
     * The C library's malloc, shared by all sessions: arena and memory patterns off, the allocator told to keep
     * freed blocks ({@link HostMalloc}) so that runs reuse them instead of faulting fresh pages in.
     */
    MALLOC;

    /**
     * System property {@code arena} or {@code malloc}: the choice for every session of the process, overriding the
     * default ({@link #choose}). For measurements.
     */
    public static final String PROPERTY = "loupe.ort.activations";

    /**
     * The choice for sessions on {@code device}: the {@link #PROPERTY} when set; else {@link #MALLOC} on the CPU
     * where the C library keeps freed memory ({@code mallocKeepsFreed}, asked only then), {@link #ARENA} otherwise
     * (on CUDA the sessions' activations are on the device, and its allocator is left as it was).
     */
    public static ActivationMemory choose(String property, RuntimeOptions.Device device,
                                          BooleanSupplier mallocKeepsFreed) {
        if (property != null && !property.isBlank()) {
            try {
                ActivationMemory asked = valueOf(property.trim().toUpperCase(java.util.Locale.ROOT));
                if (asked == MALLOC) {
                    mallocKeepsFreed.getAsBoolean();
                }
                return asked;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(PROPERTY + " must be arena or malloc, not " + property, e);
            }
        }
        return device == RuntimeOptions.Device.CPU && mallocKeepsFreed.getAsBoolean() ? MALLOC : ARENA;
    }
}
