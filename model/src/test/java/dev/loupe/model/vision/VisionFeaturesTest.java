package dev.loupe.model.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Reuse of a prompt-independent image stage, over a stage that records every batch it runs: duplicates within a
 * call, the bounded cache across calls (LRU by bytes, 0 disables), concurrent calls on one image, failures.
 */
class VisionFeaturesTest {

    /** A stage whose features of an image are its first pixel followed by {@code width} more values. */
    static final class RecordingStage implements VisionFeatures.Stage {
        final List<List<ImageTensor>> batches = Collections.synchronizedList(new ArrayList<>());
        final int featureFloats;

        RecordingStage(int featureFloats) {
            this.featureFloats = featureFloats;
        }

        @Override
        public float[][] run(List<ImageTensor> images) throws AnnotationException {
            batches.add(List.copyOf(images));
            float[][] out = new float[images.size()][featureFloats];
            for (int i = 0; i < out.length; i++) {
                java.util.Arrays.fill(out[i], images.get(i).chw()[0]);
            }
            return out;
        }

        int imagesRun() {
            synchronized (batches) {
                return batches.stream().mapToInt(List::size).sum();
            }
        }
    }

    /** Holds a stage's first call until released, as a slow batch's vision run would be held. */
    static final class FirstCallHeld {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final AtomicBoolean first = new AtomicBoolean(true);

        /** True on the first call only, once it has counted {@link #entered} down and waited (10 s at most). */
        boolean hold() {
            if (!first.getAndSet(false)) {
                return false;
            }
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }
    }

    static ImageTensor image(float value) {
        float[] chw = new float[3 * 4 * 4];
        java.util.Arrays.fill(chw, value);
        return new ImageTensor(chw, 3, 4, 4);
    }

    @Test
    void identicalImagesOfOneCallRunOnceAndShareTheirFeatures() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(stage, 0);
        ImageTensor a = image(1);
        ImageTensor aAgain = image(1);   // equal pixels, another object
        ImageTensor b = image(2);
        float[][] rows = features.features(List.of(a, b, aAgain, a));
        assertThat(stage.batches).hasSize(1);
        assertThat(stage.batches.get(0)).containsExactly(a, b);
        assertThat(rows[0]).isSameAs(rows[2]).isSameAs(rows[3]).containsOnly(1f);
        assertThat(rows[1]).containsOnly(2f);
        VisionFeatureStats stats = features.stats();
        assertThat(stats.imagesEncoded()).isEqualTo(2);
        assertThat(stats.duplicateRows()).isEqualTo(2);
        assertThat(stats.cacheHits()).isZero();
        assertThat(stats.cacheMisses()).isZero();   // disabled: no lookups counted
        assertThat(stats.cacheEntries()).isZero();
    }

    @Test
    void aCallOwnsEachArrayItComputedOnceEvenWhenRowsShareIt() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(stage, 0);
        ImageTensor a = image(1);
        VisionFeatures.Rows call = features.rows(List.of(a, image(2), image(1)), stage);
        assertThat(call.rows()[0]).isSameAs(call.rows()[2]);
        assertThat(call.owned()).hasSize(2);
        assertThat(call.owned().get(0)).isSameAs(call.rows()[0]);
        assertThat(call.owned().get(1)).isSameAs(call.rows()[1]);

        VisionFeatures.Rows alone = features.rows(List.of(a), stage);
        assertThat(alone.owned()).containsExactly(alone.rows()[0]);
    }

    @Test
    void featuresHandedToAWaitingCallAreOwnedByNeitherCallButCachedCopiesAreTheReadersOwn() throws Exception {
        FirstCallHeld held = new FirstCallHeld();
        RecordingStage recording = new RecordingStage(8);
        VisionFeatures.Stage stage = images -> {
            held.hold();
            return recording.run(images);
        };
        VisionFeatures features = new VisionFeatures(stage, 1 << 20);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<VisionFeatures.Rows> first = pool.submit(() -> features.rows(List.of(image(1)), stage));
            assertThat(held.entered.await(10, TimeUnit.SECONDS)).isTrue();
            Future<VisionFeatures.Rows> second = pool.submit(() -> features.rows(List.of(image(2), image(1)), stage));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (features.stats().cacheHits() < 1 && System.nanoTime() < deadline) {   // waiting on image 1
                Thread.sleep(5);
            }
            held.release.countDown();
            VisionFeatures.Rows a = first.get(10, TimeUnit.SECONDS);
            VisionFeatures.Rows b = second.get(10, TimeUnit.SECONDS);
            assertThat(b.rows()[1]).isSameAs(a.rows()[0]);
            assertThat(a.owned()).isEmpty();                       // the waiting call reads it too
            assertThat(b.owned()).containsExactly(b.rows()[0]);    // its own image 2, not image 1
        } finally {
            pool.shutdownNow();
        }
        VisionFeatures.Rows hit = features.rows(List.of(image(1)), stage);
        assertThat(hit.rows()[0]).containsOnly(1f);
        assertThat(hit.owned()).containsExactly(hit.rows()[0]);   // a copy out of the cache, read by no one else
        assertThat(recording.imagesRun()).isEqualTo(2);
    }

    @Test
    void aDisabledCacheRecomputesInTheNextCall() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(stage, 0);
        features.features(List.of(image(1)));
        features.features(List.of(image(1)));
        assertThat(stage.imagesRun()).isEqualTo(2);
    }

    @Test
    void withTheCacheOffALoneImageIsNotDigestedButSeveralAreToShareDuplicates() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        java.util.concurrent.atomic.AtomicInteger digests = new java.util.concurrent.atomic.AtomicInteger();
        VisionFeatures features = new VisionFeatures(stage, 0, image -> {
            digests.incrementAndGet();
            return ImageDigest.of(image);
        });
        assertThat(features.features(List.of(image(3)))[0]).containsOnly(3f);
        assertThat(digests).hasValue(0);
        assertThat(features.stats().imagesEncoded()).isEqualTo(1);
        features.features(List.of(image(1), image(1)));
        assertThat(digests).hasValue(2);
        assertThat(stage.imagesRun()).isEqualTo(2);   // the pair ran once
        VisionFeatures cached = new VisionFeatures(stage, 1 << 20, image -> {
            digests.incrementAndGet();
            return ImageDigest.of(image);
        });
        cached.features(List.of(image(4)));
        assertThat(digests).as("with the cache on, a lone image is looked up").hasValue(3);
    }

    @Test
    void theCacheCarriesFeaturesAcrossCallsAndCountsHitsAndMisses() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(stage, 1 << 20);
        float[][] first = features.features(List.of(image(1), image(2)));
        float[][] second = features.features(List.of(image(2), image(3), image(1)));
        assertThat(stage.batches).hasSize(2);
        assertThat(stage.batches.get(1)).hasSize(1);
        assertThat(stage.batches.get(1).get(0).chw()[0]).isEqualTo(3f);
        // a hit is a copy out of the cache's native memory, bit for bit the features first computed
        assertThat(bits(second[0])).containsExactly(bits(first[1]));
        assertThat(bits(second[2])).containsExactly(bits(first[0]));
        assertThat(second[0]).isNotSameAs(first[1]);
        VisionFeatureStats stats = features.stats();
        assertThat(stats.imagesEncoded()).isEqualTo(3);
        assertThat(stats.cacheHits()).isEqualTo(2);
        assertThat(stats.cacheMisses()).isEqualTo(3);
        assertThat(stats.cacheEntries()).isEqualTo(3);
        assertThat(stats.cacheBytes()).isEqualTo(3 * VisionFeatureCache.sizeOf(new float[8]));
        assertThat(stats.cacheCapacityBytes()).isEqualTo(1 << 20);
    }

    @Test
    void theCacheEvictsTheLeastRecentlyUsedBeyondItsBytes() throws Exception {
        RecordingStage stage = new RecordingStage(100);
        long entry = VisionFeatureCache.sizeOf(new float[100]);
        VisionFeatures features = new VisionFeatures(stage, 2 * entry);   // room for two images
        features.features(List.of(image(1)));
        features.features(List.of(image(2)));
        features.features(List.of(image(1)));          // 1 is now the most recently used
        features.features(List.of(image(3)));          // evicts 2
        assertThat(stage.imagesRun()).isEqualTo(3);
        features.features(List.of(image(1), image(3)));
        assertThat(stage.imagesRun()).isEqualTo(3);
        features.features(List.of(image(2)));
        assertThat(stage.imagesRun()).isEqualTo(4);
        assertThat(features.stats().cacheBytes()).isLessThanOrEqualTo(2 * entry);
        assertThat(features.stats().cacheEntries()).isEqualTo(2);
    }

    @Test
    void featuresLargerThanTheWholeCacheAreComputedButNotKept() throws Exception {
        RecordingStage stage = new RecordingStage(1000);
        VisionFeatures features = new VisionFeatures(stage, 1000);
        features.features(List.of(image(1)));
        features.features(List.of(image(1)));
        assertThat(stage.imagesRun()).isEqualTo(2);
        assertThat(features.stats().cacheEntries()).isZero();
        assertThat(features.stats().cacheBytes()).isZero();
    }

    @Test
    void concurrentCallsOnOneImageRunItOnce() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingStage recording = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(images -> {
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return recording.run(images);
        }, 1 << 20);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<float[][]> first = pool.submit(() -> features.features(List.of(image(1))));
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            // the second call finds image 1 claimed by the first and waits for it; image 2 is its own
            Future<float[][]> second = pool.submit(() -> features.features(List.of(image(2), image(1))));
            Thread.sleep(100);
            release.countDown();
            float[][] a = first.get(10, TimeUnit.SECONDS);
            float[][] b = second.get(10, TimeUnit.SECONDS);
            assertThat(b[1]).isSameAs(a[0]);
            assertThat(recording.imagesRun()).isEqualTo(2);
            assertThat(features.stats().cacheHits()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedStageFailsItsCallAndLeavesNothingBehind() throws Exception {
        AtomicBoolean broken = new AtomicBoolean(true);
        RecordingStage recording = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(images -> {
            if (broken.get()) {
                throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "vision graph failed");
            }
            return recording.run(images);
        }, 1 << 20);
        assertThatThrownBy(() -> features.features(List.of(image(1))))
                .isInstanceOf(AnnotationException.class).hasMessageContaining("vision graph failed");
        broken.set(false);
        assertThat(features.features(List.of(image(1)))[0]).containsOnly(1f);
        assertThat(recording.imagesRun()).isEqualTo(1);
        assertThat(features.stats().imagesEncoded()).isEqualTo(1);
    }

    @Test
    void aCallWaitingOnAnotherCallThatFailsComputesTheImageItself() throws Exception {
        FirstCallHeld held = new FirstCallHeld();
        RecordingStage recording = new RecordingStage(8);
        VisionFeatures features = new VisionFeatures(images -> {
            if (held.hold()) {
                throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "a batch mate broke the batch");
            }
            return recording.run(images);
        }, 1 << 20);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<float[][]> failing = pool.submit(() -> features.features(List.of(image(1))));
            assertThat(held.entered.await(10, TimeUnit.SECONDS)).isTrue();
            Future<float[][]> waiting = pool.submit(() -> features.features(List.of(image(1))));
            Thread.sleep(100);
            held.release.countDown();
            assertThatThrownBy(() -> failing.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("a batch mate broke the batch");
            assertThat(waiting.get(10, TimeUnit.SECONDS)[0]).containsOnly(1f);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aClosedModelRefusesLaterCallsWithAnAnnotationError() throws Exception {
        RecordingStage stage = new RecordingStage(8);
        for (long capacity : new long[] {0, 1 << 20}) {
            VisionFeatures features = new VisionFeatures(stage, capacity);
            features.features(List.of(image(1)));
            features.close();
            features.close();   // idempotent
            assertThat(features.stats().cacheEntries()).isZero();
            assertThat(features.stats().cacheBytes()).isZero();
            for (List<ImageTensor> rows : List.of(List.of(image(1)), List.of(image(1), image(2)))) {
                assertThatThrownBy(() -> features.features(rows))
                        .isInstanceOf(AnnotationException.class).hasMessageContaining("closed")
                        .extracting(e -> ((AnnotationException) e).code()).isEqualTo(ErrorCode.INFERENCE_FAILED);
            }
        }
        assertThat(stage.imagesRun()).isEqualTo(2);
    }

    /** The raw IEEE bits of each float: equal arrays of these are bit-identical features. */
    static int[] bits(float[] floats) {
        int[] out = new int[floats.length];
        for (int i = 0; i < floats.length; i++) {
            out[i] = Float.floatToRawIntBits(floats[i]);
        }
        return out;
    }

    @Test
    void theDigestIsOfShapeAndPixelBits() {
        assertThat(ImageDigest.of(image(1))).isEqualTo(ImageDigest.of(image(1)));
        assertThat(ImageDigest.of(image(1))).isNotEqualTo(ImageDigest.of(image(2)));
        float[] chw = image(1).chw();
        assertThat(ImageDigest.of(new ImageTensor(chw, 3, 4, 4)))
                .isNotEqualTo(ImageDigest.of(new ImageTensor(chw, 3, 2, 8)));
        float[] nudged = chw.clone();
        nudged[nudged.length - 1] = Math.nextUp(nudged[nudged.length - 1]);
        assertThat(ImageDigest.of(new ImageTensor(nudged, 3, 4, 4))).isNotEqualTo(ImageDigest.of(image(1)));
        float[] big = new float[3 * 100 * 100];   // more than one hashing chunk
        float[] bigNudged = big.clone();
        bigNudged[20_000] = 1e-30f;
        assertThat(ImageDigest.of(new ImageTensor(big, 3, 100, 100)))
                .isNotEqualTo(ImageDigest.of(new ImageTensor(bigNudged, 3, 100, 100)));
    }
}
