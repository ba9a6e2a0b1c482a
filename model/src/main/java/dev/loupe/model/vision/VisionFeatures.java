package dev.loupe.model.vision;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.VisionFeatureStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * A model's prompt-independent image stage, run once per distinct image: the deepest part of the image side whose
 * output does not depend on the prompt (InstructBLIP: the ViT output, its Q-Former reading the instruction; BLIP-2:
 * the projected Q-Former queries; LLaVA: the projected CLIP features). Rows of one call with the same image
 * ({@link ImageDigest}) share one pass, and a bounded {@link VisionFeatureCache} carries features across calls and
 * across the threads that share the loaded model (outside the Java heap; the model that owns this closes it to free
 * that memory). The stage is batch invariant (a row's output does not depend on its batch mates), so reused
 * features are the ones the row would have computed. Thread-safe.
 */
public final class VisionFeatures implements AutoCloseable {

    /** Runs the image stage on a batch of images: per image, its features flattened row-major. */
    @FunctionalInterface
    public interface Stage {
        float[][] run(List<ImageTensor> images) throws AnnotationException;
    }

    private final Stage stage;
    private final Function<ImageTensor, ImageDigest> digest;
    private final VisionFeatureCache cache;
    private final LongAdder imagesEncoded = new LongAdder();
    private final LongAdder duplicateRows = new LongAdder();
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMisses = new LongAdder();

    /** @param cacheBytes bound of the cross-call cache ({@code loupe.runtime.vision-cache-bytes}); 0 disables it */
    public VisionFeatures(Stage stage, long cacheBytes) {
        this(stage, cacheBytes, ImageDigest::of);
    }

    /** With the given image identity (tests count its calls). */
    VisionFeatures(Stage stage, long cacheBytes, Function<ImageTensor, ImageDigest> digest) {
        this.stage = Objects.requireNonNull(stage, "stage");
        this.digest = Objects.requireNonNull(digest, "digest");
        this.cache = new VisionFeatureCache(cacheBytes);
    }

    /**
     * Per row, the features of its image; rows with the same image share one array, so callers must not modify
     * them. A failure of the stage fails the call (as running the rows together without reuse would), and so does
     * a call after {@link #close()}.
     */
    public float[][] features(List<ImageTensor> rows) throws AnnotationException {
        return rows(rows, stage).rows();
    }

    /**
     * As {@link #features(List)}, the images not found in the cache run through {@code runner}: the same stage run
     * another way (e.g. wholly on the calling thread), whose results equal the stage's, so they are shared alike.
     */
    public float[][] features(List<ImageTensor> rows, Stage runner) throws AnnotationException {
        return rows(rows, runner).rows();
    }

    /**
     * A call's features: per row its image's ({@link #rows}), and the distinct arrays no one else reads (the ones
     * this call computed and handed to no waiting call, and the copies of cached ones), which the caller may recycle
     * once it has read every row (for example into the pool its stage takes arrays from).
     */
    public record Rows(float[][] rows, List<float[]> owned) {}

    /** As {@link #features(List, Stage)}, with the arrays the caller owns. */
    public Rows rows(List<ImageTensor> rows, Stage runner) throws AnnotationException {
        cache.checkOpen();
        if (rows.size() == 1 && !cache.enabled()) {
            float[][] out = alone(rows.get(0), runner);
            return new Rows(out, List.of(out[0]));
        }
        Map<ImageDigest, Integer> distinct = new LinkedHashMap<>();
        List<ImageTensor> distinctImages = new ArrayList<>();
        int[] slot = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            ImageTensor image = rows.get(i);
            if (image == null) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + i + " has no image");
            }
            ImageDigest key = digest.apply(image);
            Integer known = distinct.putIfAbsent(key, distinctImages.size());
            if (known == null) {
                slot[i] = distinctImages.size();
                distinctImages.add(image);
            } else {
                slot[i] = known;
            }
        }
        List<ImageDigest> keys = new ArrayList<>(distinct.keySet());
        float[][] features = new float[keys.size()][];
        boolean[] shared = new boolean[keys.size()];   // read by other calls too: not the caller's to recycle
        List<Integer> claimed = new ArrayList<>();
        Map<Integer, VisionFeatureCache.Pending> pending = new LinkedHashMap<>();
        try {
            for (int j = 0; j < keys.size(); j++) {
                VisionFeatureCache.Lookup found = cache.lookup(keys.get(j));
                if (found instanceof VisionFeatureCache.Hit hit) {
                    features[j] = hit.features();
                    cacheHits.increment();
                } else if (found instanceof VisionFeatureCache.Pending p) {
                    pending.put(j, p);
                    cacheHits.increment();
                } else {
                    claimed.add(j);
                    if (cache.enabled()) {
                        cacheMisses.increment();
                    }
                }
            }
        } catch (AnnotationException | RuntimeException | Error e) { // closed meanwhile: free this call's claims
            abandon(claimed, keys, e);
            throw e;
        }
        computeClaimed(claimed, keys, distinctImages, features, shared, runner);
        List<Integer> failedElsewhere = new ArrayList<>();
        for (Map.Entry<Integer, VisionFeatureCache.Pending> p : pending.entrySet()) {
            try {
                features[p.getKey()] = p.getValue().result().get();
                shared[p.getKey()] = true;
            } catch (ExecutionException e) {
                failedElsewhere.add(p.getKey());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AnnotationException(ErrorCode.INFERENCE_FAILED,
                        "interrupted while waiting for another call's image features", e);
            }
        }
        if (!failedElsewhere.isEmpty()) { // that call's batch failed; these images may still be fine on their own
            runInto(failedElsewhere, distinctImages, features, runner);
        }
        duplicateRows.add(rows.size() - keys.size());
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = features[slot[i]];
        }
        List<float[]> owned = new ArrayList<>(features.length);
        for (int j = 0; j < features.length; j++) {
            if (!shared[j]) {
                owned.add(features[j]);
            }
        }
        return new Rows(out, owned);
    }

    /**
     * One image with the cache off: nothing to share within the call, nothing to keep across calls, so it runs
     * without a digest (a pass over its pixels, about 0.5 ms per 224 x 224 image, a few percent of its vision run).
     */
    private float[][] alone(ImageTensor image, Stage runner) throws AnnotationException {
        if (image == null) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row 0 has no image");
        }
        float[][] out = new float[1][];
        runInto(List.of(0), List.of(image), out, runner);
        return out;
    }

    /** Runs the images this call claimed and publishes them; on failure releases the claims to their waiters. */
    private void computeClaimed(List<Integer> claimed, List<ImageDigest> keys, List<ImageTensor> images,
                                float[][] features, boolean[] shared, Stage runner) throws AnnotationException {
        if (claimed.isEmpty()) {
            return;
        }
        try {
            runInto(claimed, images, features, runner);
        } catch (AnnotationException | RuntimeException | Error e) {
            abandon(claimed, keys, e);
            throw e;
        }
        for (int j : claimed) {
            shared[j] = cache.complete(keys.get(j), features[j]);
        }
    }

    private void abandon(List<Integer> claimed, List<ImageDigest> keys, Throwable cause) {
        for (int j : claimed) {
            cache.abandon(keys.get(j), cause);
        }
    }

    private void runInto(List<Integer> which, List<ImageTensor> images, float[][] features, Stage runner)
            throws AnnotationException {
        List<ImageTensor> batch = new ArrayList<>(which.size());
        for (int j : which) {
            batch.add(images.get(j));
        }
        float[][] computed = runner.run(batch);
        if (computed.length != batch.size()) {
            throw new IllegalStateException("image stage returned " + computed.length + " rows for "
                    + batch.size() + " images");
        }
        imagesEncoded.add(batch.size());
        for (int k = 0; k < computed.length; k++) {
            features[which.get(k)] = computed[k];
        }
    }

    /**
     * Frees the cache's native memory: for the owner of the stage, when its model is closed. Later calls are
     * refused; calls in flight finish (their features are no longer kept). Idempotent.
     */
    @Override
    public void close() {
        cache.close();
    }

    /** Counts since this model was loaded, and what the cache holds now. */
    public VisionFeatureStats stats() {
        return new VisionFeatureStats(imagesEncoded.sum(), duplicateRows.sum(), cacheHits.sum(), cacheMisses.sum(),
                cache.entryCount(), cache.bytes(), cache.capacityBytes());
    }
}
