package dev.loupe.jobs.enrich;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.AnnotatorFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.flink.configuration.Configuration;

/**
 * The resume scenario the enrich tests share: a run interrupted by a failure (no restarts left) once part of its
 * journal is committed, then the same command again, which must compute only what the journal does not hold.
 */
final class InterruptedEnrichRun {
    private InterruptedEnrichRun() {}

    /** How a test runs enrich (with its own printed output). */
    interface Runner {
        EnrichJob.Report run(Configuration config, AnnotatorFactory factory) throws Exception;
    }

    /**
     * Both runs of {@code config} ({@code requests} annotations in all; {@code arm} the file that interrupts the
     * model), checking the journal and the annotation counts; returns the journal.
     */
    static Path interruptThenResume(Configuration config, Path output, Path arm, int requests, String counter,
            Runner run, Supplier<String> printed) throws Exception {
        // run 1: interrupted by a failure (no restarts left) once part of the journal is committed; the model holds
        // after three quarters of the requests until then, so the run cannot finish first (the quarter left fits in
        // what the inference operator holds, so its input, and with it the checkpoint barriers, still flow).
        // Flink holds a checkpoint triggered on a task whose upstream has already finished until that task's inputs
        // are drained, and the tiny source can finish before the first checkpoint: then nothing commits before the
        // end. Such an attempt is interrupted without commits and the scenario starts again from a clean journal,
        // so the run the assertions see always has part of its journal committed.
        Path journal = Path.of(output + ".loupe-journal");
        EnrichJob.Report interrupted = null;
        long committed = 0;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            CompletableFuture<EnrichJob.Report> first = CompletableFuture.supplyAsync(() -> {
                try {
                    return run.run(config, new CountingAnnotatorFactory(counter, 60, arm, requests * 3L / 4));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (committedRecords(journal) < 6 && !first.isDone() && System.nanoTime() < giveUp) {
                Thread.sleep(20);
            }
            Files.createFile(arm);
            interrupted = first.get(60, TimeUnit.SECONDS);
            committed = committedRecords(journal);
            if (committed >= 6 || interrupted.complete() || attempt == ATTEMPTS) {
                break;
            }
            deleteTree(journal);   // no checkpoint completed before the source finished: start again
            Files.delete(arm);
        }
        assertThat(interrupted.complete()).as(printed.get()).isFalse();
        assertThat(output).doesNotExist();
        long firstRun = CountingAnnotatorFactory.annotated(counter);
        assertThat(committed).isBetween(6L, requests - 1L);
        assertThat(firstRun).isGreaterThanOrEqualTo(committed);

        // run 2: the same command computes only what the journal does not hold
        Files.delete(arm);
        EnrichJob.Report resumed = run.run(config, new CountingAnnotatorFactory(counter, 0, arm));
        assertThat(resumed.complete()).as(printed.get()).isTrue();
        assertThat(resumed.reused()).isEqualTo(committed);
        assertThat(CountingAnnotatorFactory.annotated(counter) - firstRun).isEqualTo(requests - committed);
        assertThat(committedRecords(journal)).isEqualTo(requests);
        return journal;
    }

    /** Attempts at an interrupted run with part of its journal committed (see the comment in the method). */
    private static final int ATTEMPTS = 4;

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Lines in the journal's committed (visible) part files. */
    static long committedRecords(Path journal) throws IOException {
        long lines = 0;
        for (Path part : Journal.committedParts(journal)) {
            lines += Files.readAllLines(part).stream().filter(l -> !l.isBlank()).count();
        }
        return lines;
    }
}
