package dev.loupe.model.api;

/**
 * Where a model's annotation time went since it was loaded, in the stages whose balance decides what continuous
 * batching can gain (docs/benchmarks.md): the image side (vision encoder, Q-Former, projection, prompt embeddings),
 * and the language model — under continuous batching split into its admissions' prefills and its shared decode
 * steps (with how many rows each step carried), under static batching one figure per batch (prefill and steps).
 * Cumulative and shared by every handle on one loaded runtime; a caller measures a span by subtracting two
 * snapshots ({@link #minus}).
 *
 * @param imageSideNanos       building decoder prefixes on the generating thread (both schedulings)
 * @param imageSideRows        rows whose prefixes were built there
 * @param staticLanguageNanos  static batches' generation (prefill and decode steps)
 * @param prefillNanos         continuous batching: admissions' language-model prefills
 * @param prefillRuns          continuous batching: prefill runs (one per admitted group)
 * @param prefillRows          continuous batching: rows prefilled
 * @param stepNanos            continuous batching: shared decode steps
 * @param steps                continuous batching: decode steps
 * @param stepRows             continuous batching: rows summed over the steps (useful rows: every slot fed is one)
 * @param backgroundImageSideNanos continuous batching: building prefixes ahead on a background thread, beside the
 *                             loop (overlapping the other figures, not part of the loop's time)
 * @param backgroundImageSideRows  rows whose prefixes were built there
 */
public record GenerationSplit(long imageSideNanos, long imageSideRows, long staticLanguageNanos, long prefillNanos,
                             long prefillRuns, long prefillRows, long stepNanos, long steps, long stepRows,
                             long backgroundImageSideNanos, long backgroundImageSideRows) {

    /** A runtime that measures nothing. */
    public static final GenerationSplit NONE = new GenerationSplit(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** What happened between {@code earlier} and this snapshot. */
    public GenerationSplit minus(GenerationSplit earlier) {
        return new GenerationSplit(imageSideNanos - earlier.imageSideNanos, imageSideRows - earlier.imageSideRows,
                staticLanguageNanos - earlier.staticLanguageNanos, prefillNanos - earlier.prefillNanos,
                prefillRuns - earlier.prefillRuns, prefillRows - earlier.prefillRows, stepNanos - earlier.stepNanos,
                steps - earlier.steps, stepRows - earlier.stepRows,
                backgroundImageSideNanos - earlier.backgroundImageSideNanos,
                backgroundImageSideRows - earlier.backgroundImageSideRows);
    }

    /** Both spans together. */
    public GenerationSplit plus(GenerationSplit other) {
        return minus(NONE.minus(other));
    }

    /** One line for a log: each stage's seconds, runs and rows per run. */
    public String summary() {
        return String.format(java.util.Locale.ROOT, "image side %.1f s for %d rows; static batches %.1f s; "
                        + "continuous: %d prefills of %.1f rows in %.1f s, %d steps of %.1f rows in %.1f s, "
                        + "image side ahead %.1f s for %d rows", imageSideNanos / 1e9, imageSideRows,
                staticLanguageNanos / 1e9, prefillRuns, prefillRuns == 0 ? 0.0 : (double) prefillRows / prefillRuns,
                prefillNanos / 1e9, steps, meanStepRows(), stepNanos / 1e9, backgroundImageSideNanos / 1e9,
                backgroundImageSideRows);
    }

    /** Mean rows per continuous decode step (0 without steps). */
    public double meanStepRows() {
        return steps == 0 ? 0 : (double) stepRows / steps;
    }
}
