package dev.loupe.model.onnx;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Makes the C library's allocator (glibc's malloc) keep freed blocks for reuse, so that ONNX Runtime sessions
 * without arenas of their own ({@link ActivationMemory#MALLOC}) take their activations from one pool that every
 * session of the process reuses, without a page fault per run.
 *
 * <p>By default glibc serves blocks above a dynamic threshold (128 KiB, rising as such blocks are freed) with
 * {@code mmap} and hands them back with {@code munmap} when freed, and trims its heaps' free tops back to the system:
 * a vision run's activations of a few MiB each would then be mapped, zero-filled page by page and unmapped on every
 * run (measured in docs/benchmarks.md: 30 % more CPU per image at batch 16). {@link #keepFreedMemory()} sets, once per
 * process, the mmap threshold to its maximum ({@value #MMAP_THRESHOLD} bytes, which also stops the dynamic
 * adjustment), the trim threshold to {@value #TRIM_THRESHOLD} bytes (freed memory stays in the process, as an arena's
 * would) and at most {@value #ARENAS} malloc arenas (fewer per-thread heaps, each with its own free memory, to
 * fragment). A setting the user gave glibc through its environment variable ({@code MALLOC_MMAP_THRESHOLD_},
 * {@code MALLOC_TRIM_THRESHOLD_}, {@code MALLOC_ARENA_MAX}) is left as given.
 */
public final class HostMalloc {
    private static final Logger LOG = Logger.getLogger(HostMalloc.class.getName());

    /** glibc's upper bound for {@code M_MMAP_THRESHOLD} on 64-bit systems (32 MiB). */
    public static final int MMAP_THRESHOLD = 32 << 20;
    /** Free memory at the top of a heap kept before trimming: 1 GiB, i.e. in practice kept. */
    public static final int TRIM_THRESHOLD = 1 << 30;
    /** Malloc arenas. */
    public static final int ARENAS = 2;

    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_MMAP_THRESHOLD = -3;
    private static final int M_ARENA_MAX = -8;

    private static Boolean applied;
    private static LibC libc;

    private HostMalloc() {}

    /** The C library calls used (glibc only). */
    interface LibC extends Library {
        int mallopt(int param, int value);

        String gnu_get_libc_version();

        int malloc_trim(long pad);
    }

    /**
     * Applies the settings above once per process; true when this process's allocator is glibc's and they hold
     * (set here or by the user's environment), false elsewhere (another C library, no JNA), where sessions keep
     * their arenas.
     */
    public static synchronized boolean keepFreedMemory() {
        if (applied == null) {
            applied = apply(System.getenv());
        }
        return applied;
    }

    /**
     * Hands the free memory of malloc's heaps back to the system ({@code malloc_trim(0)}) where
     * {@link #keepFreedMemory()} holds: a session's loading leaves temporaries (the graph's bytes, initializer copies)
     * that the settings above would otherwise keep. Called once a session is loaded; a no-op elsewhere.
     */
    public static synchronized void releaseFreeMemory() {
        if (keepFreedMemory()) {
            try {
                libc.malloc_trim(0);
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                LOG.fine("malloc_trim failed: " + e);
            }
        }
    }

    private static boolean apply(Map<String, String> env) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return false;
        }
        try {
            LibC c = Native.load("c", LibC.class);
            String version = c.gnu_get_libc_version();
            boolean ok = set(c, env, "MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                    & set(c, env, "MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                    & set(c, env, "MALLOC_ARENA_MAX", M_ARENA_MAX, ARENAS);
            libc = c;
            if (!ok) {
                LOG.warning("glibc " + version + " refused a malloc setting; ONNX Runtime sessions keep their arenas");
            }
            return ok;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            // not glibc (no gnu_get_libc_version) or no JNA native support: leave the allocator alone
            return false;
        }
    }

    private static boolean set(LibC c, Map<String, String> env, String variable, int param, int value) {
        if (env.get(variable) != null) {
            return true; // the user's setting stands
        }
        return c.mallopt(param, value) == 1;
    }
}
