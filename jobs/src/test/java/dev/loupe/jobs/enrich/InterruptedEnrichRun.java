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
        // what the inference operator holds, so its input, and with it the checkpoint barriers, still flow). Once the
        // input has ended, the operator drains what it holds and a checkpoint may not complete before that drain ends,
        // so the commits the test waits for must come before: 150 ms per request gives them a few seconds even on a
        // loaded machine (at 60 ms one run in a loaded full build saw none and waited out the hold)
        CompletableFuture<EnrichJob.Report> first = CompletableFuture.supplyAsync(() -> {
            try {
                return run.run(config, new CountingAnnotatorFactory(counter, 150, arm, requests * 3L / 4));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Path journal = Path.of(output + ".loupe-journal");
        while (committedRecords(journal) < 6 && !first.isDone()) {
            Thread.sleep(20);
        }
        Files.createFile(arm);
        EnrichJob.Report interrupted = first.get(60, TimeUnit.SECONDS);
        assertThat(interrupted.complete()).as(printed.get()).isFalse();
        assertThat(output).doesNotExist();
        long committed = committedRecords(journal);
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

    /** Lines in the journal's committed (visible) part files. */
    static long committedRecords(Path journal) throws IOException {
        long lines = 0;
        for (Path part : Journal.committedParts(journal)) {
            lines += Files.readAllLines(part).stream().filter(l -> !l.isBlank()).count();
        }
        return lines;
    }
}
