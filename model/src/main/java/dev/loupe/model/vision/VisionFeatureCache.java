package dev.loupe.model.vision;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
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
 * operation is a short critical section on this object (a hit's or a store's copy, tens of microseconds, included).
 *
 * <p>The floats live outside the Java heap ({@link NativeFeatureSlots}): a store copies them in, a hit copies them
 * out into a fresh array, so the stage's arrays die young and the collector never moves the cache. The region is
 * allocated at the first store, in slots of that entry's length, as many as the capacity holds at that length's
 * {@link #sizeOf}: the same entries as when each was a heap array. Within one model's stage every image has the same
 * length; shorter features take a slot each, longer ones remake the region ({@link #slotsFor}). {@link #close()}
 * frees the region; later lookups are refused.
 */
final class VisionFeatureCache implements AutoCloseable {
    /** Per entry, besides its floats: key, map node and slot record on the heap (an estimate; the floats dominate). */
    static final long ENTRY_OVERHEAD_BYTES = 128;

    private final long capacityBytes;
    private final LinkedHashMap<ImageDigest, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<ImageDigest, Claim> claims = new HashMap<>();
    /** Null until the first store and after {@link #close()}. */
    private NativeFeatureSlots slots;
    private volatile boolean closed;
    private long bytes;

    /** Where an entry's floats are: its slot and its length. */
    private record Entry(int slot, int floats) {}

    /** An image being computed, and whether another call was given its result to wait for (under this lock). */
    private static final class Claim {
        final CompletableFuture<float[]> result = new CompletableFuture<>();
        boolean awaited;
    }

    VisionFeatureCache(long capacityBytes) {
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacity must be >= 0 bytes, got " + capacityBytes);
        }
        this.capacityBytes = capacityBytes;
    }

    /** Where a call gets an image's features: already known, being computed by another call, or its own to compute. */
    sealed interface Lookup permits Hit, Pending, Claimed {}

    /** A copy of the held features, the caller's own. */
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
     *
     * @throws AnnotationException once the cache is closed (its model was closed)
     */
    synchronized Lookup lookup(ImageDigest key) throws AnnotationException {
        checkOpen();
        if (!enabled()) {
            return new Claimed();
        }
        Entry held = entries.get(key);
        if (held != null) {
            return new Hit(slots.read(held.slot(), held.floats()));
        }
        Claim pending = claims.get(key);
        if (pending != null) {
            pending.awaited = true;
            return new Pending(pending.result);
        }
        claims.put(key, new Claim());
        return new Claimed();
    }

    /**
     * Stores a copy of the features of a claimed key (unless they alone exceed the capacity, or the cache was closed
     * meanwhile) and wakes its waiters with {@code features} itself.
     *
     * @return whether other calls were given {@code features} (they read the array: its caller must not recycle it)
     */
    boolean complete(ImageDigest key, float[] features) {
        Claim claim = null;
        try {
            synchronized (this) {
                if (!enabled()) {
                    return false;
                }
                claim = claims.remove(key);
                if (!closed) {
                    store(key, features);
                }
                return claim != null && claim.awaited;
            }
        } finally { // whatever happens to the copy, the waiters get the features
            if (claim != null) {
                claim.result.complete(features);
            }
        }
    }

    /** Gives up a claim whose computation failed: its waiters compute the image themselves. */
    void abandon(ImageDigest key, Throwable cause) {
        Claim claim;
        synchronized (this) {
            claim = claims.remove(key);
        }
        if (claim != null) {
            claim.result.completeExceptionally(cause);
        }
    }

    synchronized long entryCount() {
        return entries.size();
    }

    synchronized long bytes() {
        return bytes;
    }

    /** Native bytes reserved for the slots (0 before the first store and after close). */
    synchronized long regionBytes() {
        return slots == null ? 0 : slots.regionBytes();
    }

    /**
     * Frees the native region and drops every entry; from now on {@link #lookup} is refused and completions keep
     * nothing (calls in flight still hand their features to their waiters). Idempotent.
     */
    @Override
    public synchronized void close() {
        closed = true;
        entries.clear();
        bytes = 0;
        if (slots != null) {
            slots.close();
            slots = null;
        }
    }

    /** @throws AnnotationException once {@link #close()}d: the model this cache belongs to was closed */
    void checkOpen() throws AnnotationException {
        if (closed) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED,
                    "the model is closed: its image features can no longer be computed or reused");
        }
    }

    static long sizeOf(float[] features) {
        return sizeOf(features.length);
    }

    static long sizeOf(int floats) {
        return (long) floats * Float.BYTES + ENTRY_OVERHEAD_BYTES;
    }

    /** Copies {@code features} into a slot, evicting the least recently used as the bytes or the slots require. */
    private void store(ImageDigest key, float[] features) {
        long size = sizeOf(features);
        Entry previous = entries.remove(key);
        if (previous != null) {
            forget(previous);
        }
        if (size > capacityBytes || !slotsFor(features.length)) {
            return;
        }
        Iterator<Entry> eldest = entries.values().iterator();
        while ((bytes + size > capacityBytes || !slots.hasFree()) && eldest.hasNext()) {
            forget(eldest.next());
            eldest.remove();
        }
        int slot = slots.take();
        slots.write(slot, features);
        entries.put(key, new Entry(slot, features.length));
        bytes += size;
    }

    /**
     * Whether slots of at least {@code floats} exist, making them (as many as the capacity holds at that length)
     * when there are none yet or they are shorter: longer features drop the held entries and remake the region, so
     * the slots converge to the longest length (within one model's stage all have one length, so in practice the
     * region is made once). False when the region cannot be allocated: the features are then served, not kept.
     */
    private boolean slotsFor(int floats) {
        if (slots != null && floats <= slots.slotFloats()) {
            return true;
        }
        entries.clear();
        bytes = 0;
        if (slots != null) {
            slots.close();
            slots = null;
        }
        int slotFloats = Math.max(1, floats);
        long count = capacityBytes / sizeOf(slotFloats);
        try {
            slots = new NativeFeatureSlots(slotFloats, (int) Math.min(Integer.MAX_VALUE, count));
        } catch (OutOfMemoryError nativeAllocationFailed) {
            return false;
        }
        return true;
    }

    private void forget(Entry entry) {
        bytes -= sizeOf(entry.floats());
        slots.release(entry.slot());
    }
}
