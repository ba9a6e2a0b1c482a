package dev.loupe.model.vision;

import static dev.loupe.model.vision.VisionFeaturesTest.bits;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The cache's store outside the Java heap ({@link NativeFeatureSlots}): bit-exact copies in and out, LRU eviction by
 * bytes and by slots, what it does not keep, concurrent claims, and closing.
 */
class VisionFeatureCacheTest {

    private static ImageDigest key(long n) {
        return new ImageDigest(n, n + 1, n + 2, n + 3);
    }

    /** Features whose values are all distinct and include the bit patterns a lossy copy would change. */
    private static float[] features(int n, float seed) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = seed + i * 0.001f;
        }
        f[0] = -0.0f;
        f[1] = Float.intBitsToFloat(0x7fc01234);   // a NaN with a payload
        f[2] = Float.MIN_VALUE;                    // subnormal
        f[n - 1] = Float.NEGATIVE_INFINITY;
        return f;
    }

    /** Claims, completes with {@code f} and checks that nothing was held before. */
    private static void put(VisionFeatureCache cache, ImageDigest key, float[] f) throws AnnotationException {
        assertThat(cache.lookup(key)).isInstanceOf(VisionFeatureCache.Claimed.class);
        cache.complete(key, f);
    }

    private static float[] hit(VisionFeatureCache cache, ImageDigest key) throws AnnotationException {
        VisionFeatureCache.Lookup found = cache.lookup(key);
        assertThat(found).isInstanceOf(VisionFeatureCache.Hit.class);
        return ((VisionFeatureCache.Hit) found).features();
    }

    private static boolean held(VisionFeatureCache cache, ImageDigest key) throws AnnotationException {
        VisionFeatureCache.Lookup found = cache.lookup(key);
        if (found instanceof VisionFeatureCache.Claimed) {
            cache.abandon(key, new IllegalStateException("only looking"));
            return false;
        }
        return found instanceof VisionFeatureCache.Hit;
    }

    @Test
    void aHitIsAFreshBitExactCopyOfTheStoredFeatures() throws Exception {
        try (VisionFeatureCache cache = new VisionFeatureCache(1 << 20)) {
            float[] stored = features(1000, 3f);
            int[] before = bits(stored);
            put(cache, key(1), stored);
            stored[5] = 42f;   // the cache holds a copy: the caller's array is its own again
            float[] first = hit(cache, key(1));
            float[] second = hit(cache, key(1));
            assertThat(bits(first)).containsExactly(before);
            assertThat(bits(second)).containsExactly(before);
            assertThat(first).isNotSameAs(second).isNotSameAs(stored);
            assertThat(cache.regionBytes()).isPositive().isLessThanOrEqualTo(1 << 20);
        }
    }

    @Test
    void theLeastRecentlyUsedLeaveWhenTheBytesAreFullAndTheirSlotsAreReused() throws Exception {
        int floats = 100;
        long entry = VisionFeatureCache.sizeOf(floats);
        try (VisionFeatureCache cache = new VisionFeatureCache(3 * entry + entry / 2)) {   // room for three
            for (int i = 1; i <= 3; i++) {
                put(cache, key(i), features(floats, i));
            }
            assertThat(cache.regionBytes()).isEqualTo(3L * floats * Float.BYTES);
            hit(cache, key(1));                            // 2 is now the least recently used
            put(cache, key(4), features(floats, 4));      // evicts 2
            assertThat(cache.entryCount()).isEqualTo(3);
            assertThat(cache.bytes()).isEqualTo(3 * entry);
            assertThat(held(cache, key(2))).isFalse();
            put(cache, key(5), features(floats, 5));      // evicts 3 (1 and 4 were used since)
            assertThat(held(cache, key(3))).isFalse();
            for (int i : new int[] {1, 4, 5}) {
                assertThat(bits(hit(cache, key(i)))).as("entry %d", i).containsExactly(bits(features(floats, i)));
            }
        }
    }

    @Test
    void featuresLargerThanTheCapacityAreNotKeptAndAllocateNothing() throws Exception {
        try (VisionFeatureCache cache = new VisionFeatureCache(1000)) {
            put(cache, key(1), features(300, 1));   // 1200 bytes of floats alone
            assertThat(cache.entryCount()).isZero();
            assertThat(cache.bytes()).isZero();
            assertThat(cache.regionBytes()).isZero();
            assertThat(held(cache, key(1))).isFalse();
        }
    }

    @Test
    void shorterFeaturesTakeASlotAndLongerOnesRemakeTheRegion() throws Exception {
        long capacity = 4 * VisionFeatureCache.sizeOf(100);
        try (VisionFeatureCache cache = new VisionFeatureCache(capacity)) {
            put(cache, key(1), features(10, 1));
            assertThat(cache.regionBytes()).isEqualTo(capacity / VisionFeatureCache.sizeOf(10) * 10 * Float.BYTES);
            put(cache, key(2), features(100, 2));     // longer than the slots: they are remade, 1 is dropped
            assertThat(held(cache, key(1))).isFalse();
            assertThat(cache.regionBytes()).isEqualTo(4L * 100 * Float.BYTES);
            put(cache, key(3), features(60, 3));      // shorter: a slot of its own, read back at its length
            assertThat(bits(hit(cache, key(3)))).containsExactly(bits(features(60, 3)));
            assertThat(bits(hit(cache, key(2)))).containsExactly(bits(features(100, 2)));
            assertThat(cache.bytes()).isEqualTo(VisionFeatureCache.sizeOf(100) + VisionFeatureCache.sizeOf(60));
            for (int i = 5; i < 9; i++) {              // four slots: slots, not bytes, run out first here
                put(cache, key(i), features(60, i));
            }
            assertThat(cache.entryCount()).isEqualTo(4);
            assertThat(held(cache, key(2))).isFalse();
            assertThat(cache.bytes()).isEqualTo(4 * VisionFeatureCache.sizeOf(60)).isLessThan(capacity);
        }
    }

    @Test
    void concurrentLookupsOfOneImageMakeOneClaimAndAllGetItsFeatures() throws Exception {
        int callers = 8;
        float[] computed = features(500, 7);
        try (VisionFeatureCache cache = new VisionFeatureCache(1 << 20)) {
            ExecutorService pool = Executors.newFixedThreadPool(callers);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<VisionFeatureCache.Lookup>> lookups = new ArrayList<>();
                for (int i = 0; i < callers; i++) {
                    lookups.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        return cache.lookup(key(1));
                    }));
                }
                start.countDown();
                List<VisionFeatureCache.Pending> waiting = new ArrayList<>();
                int claims = 0;
                for (Future<VisionFeatureCache.Lookup> f : lookups) {
                    VisionFeatureCache.Lookup found = f.get(10, TimeUnit.SECONDS);
                    if (found instanceof VisionFeatureCache.Claimed) {
                        claims++;
                    } else {
                        waiting.add((VisionFeatureCache.Pending) found);
                    }
                }
                assertThat(claims).isEqualTo(1);
                assertThat(waiting).hasSize(callers - 1);
                List<Future<float[]>> results = new ArrayList<>();
                for (VisionFeatureCache.Pending p : waiting) {
                    results.add(pool.submit((Callable<float[]>) () -> p.result().get(10, TimeUnit.SECONDS)));
                }
                cache.complete(key(1), computed);
                for (Future<float[]> r : results) {
                    assertThat(r.get(10, TimeUnit.SECONDS)).isSameAs(computed);
                }
                List<Future<float[]>> hits = new ArrayList<>();
                for (int i = 0; i < callers; i++) {
                    hits.add(pool.submit(() -> hit(cache, key(1))));
                }
                for (Future<float[]> h : hits) {
                    assertThat(bits(h.get(10, TimeUnit.SECONDS))).containsExactly(bits(computed));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void closingFreesTheRegionAndRefusesLaterLookupsWhileWakingWaiters() throws Exception {
        VisionFeatureCache cache = new VisionFeatureCache(1 << 20);
        put(cache, key(1), features(100, 1));
        assertThat(cache.lookup(key(2))).isInstanceOf(VisionFeatureCache.Claimed.class);
        VisionFeatureCache.Lookup waiter = cache.lookup(key(2));
        cache.close();
        assertThat(cache.regionBytes()).isZero();
        assertThat(cache.entryCount()).isZero();
        assertThat(cache.bytes()).isZero();
        assertThatThrownBy(() -> cache.lookup(key(1)))
                .isInstanceOf(AnnotationException.class).hasMessageContaining("closed");
        float[] late = features(100, 2);
        cache.complete(key(2), late);   // a call in flight at close: its waiter still gets the features
        assertThat(((VisionFeatureCache.Pending) waiter).result().get(10, TimeUnit.SECONDS)).isSameAs(late);
        assertThat(cache.entryCount()).isZero();
        assertThat(cache.regionBytes()).isZero();
        cache.close();   // idempotent
    }

    @Test
    void theSlotsRefuseUseAfterCloseAndMisuse() {
        NativeFeatureSlots slots = new NativeFeatureSlots(4, 2);
        int a = slots.take();
        int b = slots.take();
        assertThat(a).isZero();
        assertThat(b).isOne();
        assertThat(slots.hasFree()).isFalse();
        assertThatThrownBy(slots::take).isInstanceOf(IllegalStateException.class);
        slots.write(b, new float[] {1, 2, 3});
        assertThat(slots.read(b, 3)).containsExactly(1, 2, 3);
        assertThatThrownBy(() -> slots.write(a, new float[5])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> slots.read(2, 1)).isInstanceOf(IndexOutOfBoundsException.class);
        slots.release(a);
        slots.release(b);
        assertThatThrownBy(() -> slots.release(b)).isInstanceOf(IllegalStateException.class);
        slots.close();
        assertThat(slots.closed()).isTrue();
        assertThatThrownBy(() -> slots.read(0, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> slots.write(0, new float[1])).isInstanceOf(IllegalStateException.class);
        slots.close();
    }
}
