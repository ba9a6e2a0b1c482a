package dev.loupe.model.api;

/**
 * How often a model's prompt-independent image stage ran and how often its features were reused, since the model
 * was loaded: what shows whether several prompts on one image cost one vision pass (docs/models.md). The Flink
 * inference operator exposes these as metrics; one loaded runtime is shared by the subtasks of a process, so the
 * figures are the process's.
 *
 * @param imagesEncoded images that went through the image stage (the count to watch: once per distinct image)
 * @param duplicateRows rows that reused the features of an identical image in the same call
 * @param cacheHits     distinct images of a call whose features came from the cache (or from another call
 *                      computing them at the same moment)
 * @param cacheMisses   distinct images of a call the cache did not hold (0 while the cache is disabled)
 * @param cacheEntries  images the cache holds now
 * @param cacheBytes    bytes of features the cache holds now (at most its capacity)
 * @param cacheCapacityBytes the cache's bound ({@code loupe.runtime.vision-cache-bytes}; 0: disabled)
 */
public record VisionFeatureStats(long imagesEncoded, long duplicateRows, long cacheHits, long cacheMisses,
                                 long cacheEntries, long cacheBytes, long cacheCapacityBytes) {

    /** A model without a separate image stage (nothing is counted). */
    public static final VisionFeatureStats NONE = new VisionFeatureStats(0, 0, 0, 0, 0, 0, 0);
}
