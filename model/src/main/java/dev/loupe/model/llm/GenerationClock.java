package dev.loupe.model.llm;

import dev.loupe.model.api.GenerationSplit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Accumulates a loaded model's {@link GenerationSplit}: the stages report their wall time as they run (a
 * {@link System#nanoTime} pair per run, nothing per token). Thread-safe: the subtasks sharing a runtime add to one.
 */
public final class GenerationClock {
    private final LongAdder imageSideNanos = new LongAdder();
    private final LongAdder imageSideRows = new LongAdder();
    private final LongAdder staticLanguageNanos = new LongAdder();
    private final LongAdder prefillNanos = new LongAdder();
    private final LongAdder prefillRuns = new LongAdder();
    private final LongAdder prefillRows = new LongAdder();
    private final LongAdder stepNanos = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final LongAdder stepRows = new LongAdder();
    private final LongAdder backgroundImageSideNanos = new LongAdder();
    private final LongAdder backgroundImageSideRows = new LongAdder();

    public void imageSide(long startNanos, int rows) {
        imageSideNanos.add(System.nanoTime() - startNanos);
        imageSideRows.add(rows);
    }

    /** Prefixes built ahead on a background thread, beside the generating loop. */
    public void backgroundImageSide(long startNanos, int rows) {
        backgroundImageSideNanos.add(System.nanoTime() - startNanos);
        backgroundImageSideRows.add(rows);
    }

    public void staticLanguage(long startNanos) {
        staticLanguageNanos.add(System.nanoTime() - startNanos);
    }

    void prefill(long startNanos, int rows) {
        prefillNanos.add(System.nanoTime() - startNanos);
        prefillRuns.increment();
        prefillRows.add(rows);
    }

    void step(long startNanos, int rows) {
        stepNanos.add(System.nanoTime() - startNanos);
        steps.increment();
        stepRows.add(rows);
    }

    public GenerationSplit snapshot() {
        return new GenerationSplit(imageSideNanos.sum(), imageSideRows.sum(), staticLanguageNanos.sum(),
                prefillNanos.sum(), prefillRuns.sum(), prefillRows.sum(), stepNanos.sum(), steps.sum(), stepRows.sum(),
                backgroundImageSideNanos.sum(), backgroundImageSideRows.sum());
    }
}
