package dev.loupe.jobs.caption;

import dev.loupe.model.files.FileTrees;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;

/**
 * An external merge sort of {@link CaptionRow}s by {@code sequence}, so the caption finalizer needs memory for at
 * most {@code runRows} rows however many images there are: rows are buffered, each full buffer is sorted and spilled
 * as a run file (part-file JSON lines) under {@code dir}, and {@link #merge} streams every row in order through a
 * k-way merge holding one row per run. Rows with the same sequence keep the order they were added in.
 * {@link #close} deletes {@code dir}.
 */
final class SortedRuns implements Closeable {
    /** Rows held in memory at once unless configured otherwise (about 1 KB each). */
    static final int DEFAULT_RUN_ROWS = 50_000;
    private static final Comparator<CaptionRow> ORDER = Comparator.comparing((CaptionRow r) -> r.sequence);

    /** Receives the merged rows. */
    @FunctionalInterface
    interface RowSink {
        void accept(CaptionRow row) throws IOException;
    }

    private final Path dir;
    private final int runRows;
    private final List<CaptionRow> buffer = new ArrayList<>();
    private final List<Path> runs = new ArrayList<>();
    private final List<Run> open = new ArrayList<>();
    private boolean merged;

    /** Sorts into run files under {@code dir} (emptied first), at most {@code runRows} rows in memory. */
    SortedRuns(Path dir, int runRows) throws IOException {
        if (runRows < 1) {
            throw new IllegalArgumentException("run size must be at least 1, got " + runRows);
        }
        this.dir = dir;
        this.runRows = runRows;
        FileTrees.deleteRecursively(dir);
        Files.createDirectories(dir);
    }

    void add(CaptionRow row) throws IOException {
        if (merged) {
            throw new IllegalStateException("rows added after the merge");
        }
        buffer.add(row);
        if (buffer.size() >= runRows) {
            spill();
        }
    }

    /** The number of run files spilled so far. */
    int runCount() {
        return runs.size();
    }

    /** Hands every row added to {@code out} in sequence order; once. */
    void merge(RowSink out) throws IOException {
        if (merged) {
            throw new IllegalStateException("already merged");
        }
        merged = true;
        buffer.sort(ORDER);
        if (runs.isEmpty()) {   // everything fit in one buffer: no disk needed
            for (CaptionRow row : buffer) {
                out.accept(row);
            }
            buffer.clear();
            return;
        }
        if (!buffer.isEmpty()) {
            spill();
        }
        PriorityQueue<Run> queue = new PriorityQueue<>(
                Comparator.comparing((Run r) -> r.head, ORDER).thenComparingInt(r -> r.index));
        for (int i = 0; i < runs.size(); i++) {
            Run run = new Run(i, Files.newBufferedReader(runs.get(i), StandardCharsets.UTF_8));
            open.add(run);
            if (run.advance()) {
                queue.add(run);
            }
        }
        while (!queue.isEmpty()) {
            Run run = queue.poll();
            out.accept(run.head);
            if (run.advance()) {
                queue.add(run);
            }
        }
    }

    private void spill() throws IOException {
        buffer.sort(ORDER);
        Path run = dir.resolve(String.format(Locale.ROOT, "run-%06d.jsonl", runs.size()));
        try (BufferedWriter w = Files.newBufferedWriter(run, StandardCharsets.UTF_8)) {
            for (CaptionRow row : buffer) {
                w.write(row.toJsonLine(true));
                w.write('\n');
            }
        }
        runs.add(run);
        buffer.clear();
    }

    @Override
    public void close() throws IOException {
        for (Run run : open) {
            run.in.close();
        }
        open.clear();
        buffer.clear();
        FileTrees.deleteRecursively(dir);
    }

    /** One run file being merged: its reader and its next row. */
    private static final class Run {
        final int index;
        final BufferedReader in;
        CaptionRow head;

        Run(int index, BufferedReader in) {
            this.index = index;
            this.in = in;
        }

        /** Reads the next row into {@link #head}; false (and closed) at the end. */
        boolean advance() throws IOException {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.isBlank()) {
                    head = CaptionRow.parse(line);
                    return true;
                }
            }
            head = null;
            in.close();
            return false;
        }
    }
}
