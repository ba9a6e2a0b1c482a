package dev.loupe.model.vision;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The image features of one loaded model, least recently used first out, bounded by bytes: what lets the requests
 * of one image that land in different batches (or in different subtasks sharing the runtime) run its image stage
 * once. An image being computed by one call is <em>claimed</em>: a concurrent call that needs it waits for that
 * result instead of computing it again. A call computes its own claims before it waits on anyone else's, so
 * waiting never forms a cycle. Capacity 0 disables the cache (nothing is kept, nothing claimed). Thread-safe; every
 * operation is a short critical section on this object.
 */
final class VisionFeatureCache {
    /** Per entry, besides its floats: key, map node and array headers (an estimate; what matters is the floats). */
    static final long ENTRY_OVERHEAD_BYTES = 128;

    private final long capacityBytes;
    private final LinkedHashMap<ImageDigest, float[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<ImageDigest, CompletableFuture<float[]>> claims = new HashMap<>();
    private long bytes;

    VisionFeatureCache(long capacityBytes) {
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacity must be >= 0 bytes, got " + capacityBytes);
        }
        this.capacityBytes = capacityBytes;
    }

    /** Where a call gets an image's features: already known, being computed by another call, or its own to compute. */
    sealed interface Lookup permits Hit, Pending, Claimed {}

    record Hit(float[] features) implements Lookup {}

    record Pending(CompletableFuture<float[]> result) implements Lookup {}

    record Claimed() implements Lookup {}

    boolean enabled() {
        return capacityBytes > 0;
    }

    long capacityBytes() {
        return capacityBytes;
    }

    /**
     * The features of {@code key} if held or being computed; otherwise {@code key} is claimed by the caller, who
     * must then {@link #complete} or {@link #abandon} it. With the cache disabled, always {@link Claimed} (and
     * nothing to complete).
     */
    synchronized Lookup lookup(ImageDigest key) {
        if (!enabled()) {
            return new Claimed();
        }
        float[] held = entries.get(key);
        if (held != null) {
            return new Hit(held);
        }
        CompletableFuture<float[]> pending = claims.get(key);
        if (pending != null) {
            return new Pending(pending);
        }
        claims.put(key, new CompletableFuture<>());
        return new Claimed();
    }

    /** Stores the features of a claimed key (unless they alone exceed the capacity) and wakes its waiters. */
    void complete(ImageDigest key, float[] features) {
        CompletableFuture<float[]> claim;
        synchronized (this) {
            if (!enabled()) {
                return;
            }
            claim = claims.remove(key);
            long size = sizeOf(features);
            if (size <= capacityBytes) {
                float[] previous = entries.put(key, features);
                bytes += size - (previous == null ? 0 : sizeOf(previous));
                evictBeyondCapacity();
            }
        }
        if (claim != null) {
            claim.complete(features);
        }
    }

    /** Gives up a claim whose computation failed: its waiters compute the image themselves. */
    void abandon(ImageDigest key, Throwable cause) {
        CompletableFuture<float[]> claim;
        synchronized (this) {
            claim = claims.remove(key);
        }
        if (claim != null) {
            claim.completeExceptionally(cause);
        }
    }

    synchronized long entryCount() {
        return entries.size();
    }

    synchronized long bytes() {
        return bytes;
    }

    static long sizeOf(float[] features) {
        return (long) features.length * Float.BYTES + ENTRY_OVERHEAD_BYTES;
    }

    private void evictBeyondCapacity() {
        Iterator<float[]> eldest = entries.values().iterator();
        while (bytes > capacityBytes && eldest.hasNext()) {
            bytes -= sizeOf(eldest.next());
            eldest.remove();
        }
    }
}
