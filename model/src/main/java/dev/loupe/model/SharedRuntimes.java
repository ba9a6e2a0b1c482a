package dev.loupe.model;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One loaded model runtime per key per process (per class loader: inside Flink, per job in a TaskManager), shared by
 * every holder: N operator subtasks in one TaskManager JVM load the ONNX sessions once instead of N times. Holders
 * {@link #acquire} a {@link Lease}; the first acquire loads, the last {@link Lease#close()} releases the runtime.
 * A key names what determines the loaded runtime, e.g. (package directory, runtime options); the shared value must
 * be safe to use from several threads at once.
 */
public final class SharedRuntimes {
    private static final Map<Object, Entry<?>> ENTRIES = new HashMap<>();
    private static long loads;

    private SharedRuntimes() {}

    /** Loads a runtime; called at most once per key while any lease on the key is open. */
    @FunctionalInterface
    public interface Loader<T extends AutoCloseable> {
        T load() throws IOException;
    }

    /** Holds a shared runtime; closing it (once; later calls do nothing) drops one reference. */
    public static final class Lease<T extends AutoCloseable> implements AutoCloseable {
        private final Object key;
        private final Entry<T> entry;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Lease(Object key, Entry<T> entry) {
            this.key = key;
            this.entry = entry;
        }

        public T get() {
            if (closed.get()) {
                throw new IllegalStateException("lease on " + key + " is closed");
            }
            return entry.value;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                release(key, entry);
            }
        }
    }

    private static final class Entry<T extends AutoCloseable> {
        int references;
        volatile T value;
    }

    /**
     * The runtime for key, loading it with loader when no lease on key is open. Loading happens outside the global
     * lock, so different keys load in parallel; holders of the same key wait for the one load.
     */
    public static <T extends AutoCloseable> Lease<T> acquire(Object key, Loader<T> loader) throws IOException {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(loader, "loader");
        Entry<T> entry;
        synchronized (ENTRIES) {
            @SuppressWarnings("unchecked")
            Entry<T> existing = (Entry<T>) ENTRIES.computeIfAbsent(key, k -> new Entry<T>());
            entry = existing;
            entry.references++;
        }
        try {
            synchronized (entry) {
                if (entry.value == null) {
                    entry.value = Objects.requireNonNull(loader.load(), "loader returned null");
                    synchronized (ENTRIES) {
                        loads++;
                    }
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            release(key, entry);
            throw e;
        }
        return new Lease<>(key, entry);
    }

    /** Open leases on key (0 when nothing is loaded for it). */
    public static int references(Object key) {
        synchronized (ENTRIES) {
            Entry<?> e = ENTRIES.get(key);
            return e == null ? 0 : e.references;
        }
    }

    /** Runtimes loaded by this process so far (a diagnostic: stays flat while holders share). */
    public static long loadCount() {
        synchronized (ENTRIES) {
            return loads;
        }
    }

    private static void release(Object key, Entry<?> entry) {
        AutoCloseable toClose = null;
        synchronized (ENTRIES) {
            if (--entry.references == 0) {
                ENTRIES.remove(key, entry);
                toClose = entry.value;
                entry.value = null;
            }
        }
        if (toClose != null) {
            try {
                toClose.close();
            } catch (Exception e) {
                // Native resources of a runtime nobody holds any more: nothing useful to do with the failure.
            }
        }
    }
}
