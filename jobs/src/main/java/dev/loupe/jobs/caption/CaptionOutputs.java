package dev.loupe.jobs.caption;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import dev.loupe.jobs.table.TableFormat;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;

/**
 * Turns a finished caption job's part files into the contract outputs, in input order: {@code results.jsonl},
 * {@code results.parquet}, JPEG thumbnails in {@code thumbs/} (made by reading the inputs once more) and the
 * {@link ContactSheet}. Each file is written to a temporary name and moved into place, so a crash here leaves no
 * half-written output, and running it again gives the same files.
 */
public final class CaptionOutputs {
    private final OutputLayout layout;
    private final CaptionSettings settings;
    private final long maxBytes;
    private final long maxPixels;

    public CaptionOutputs(OutputLayout layout, CaptionSettings settings, long maxBytes, long maxPixels) {
        this.layout = layout;
        this.settings = settings;
        this.maxBytes = maxBytes;
        this.maxPixels = maxPixels;
    }

    /** Writes every output from the committed part files; returns the rows in order. */
    public List<CaptionRow> write(InputPlan plan) throws IOException {
        List<CaptionRow> rows = readParts(layout.parts().resolve("jsonl"));
        writeJsonl(rows);
        writeParquet(layout.parts().resolve("parquet"));
        Set<String> thumbs = thumbnails(plan);
        new ContactSheet(layout.root(), settings.pageSize()).write(rows, thumbs);
        return rows;
    }

    /** The rows of every committed part file (in-progress and pending files start with a dot), sorted. */
    static List<CaptionRow> readParts(Path parts) throws IOException {
        List<CaptionRow> rows = new ArrayList<>();
        for (Path file : committedFiles(parts)) {
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.isBlank()) {
                        rows.add(CaptionRow.parse(line));
                    }
                }
            }
        }
        rows.sort(Comparator.comparing((CaptionRow r) -> r.sequence));
        return rows;
    }

    /** results.parquet: the Parquet part files' rows in order, without their order key. */
    private void writeParquet(Path parts) throws IOException {
        List<TableRow> rows = new ArrayList<>();
        for (Path file : committedFiles(parts)) {
            try (TableReader in = Tables.open(file, TableFormat.PARQUET)) {
                for (TableRow row; (row = in.read()) != null; ) {
                    rows.add(row);
                }
            }
        }
        rows.sort(Comparator.comparing((TableRow r) -> (String) r.get(0)));
        Path target = layout.resultsParquet();
        Path tmp = target.resolveSibling(".results.parquet.tmp");
        try (TableWriter out = Tables.create(tmp, TableFormat.PARQUET, CaptionTable.RESULTS)) {
            for (TableRow row : rows) {
                Object[] values = new Object[row.size() - 1];
                for (int i = 1; i < row.size(); i++) {
                    values[i - 1] = row.get(i);
                }
                out.write(TableRow.of(values));
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The committed part files under {@code parts} (in-progress and pending ones start with a dot). */
    static List<Path> committedFiles(Path parts) throws IOException {
        if (!Files.isDirectory(parts)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(parts)) {
            return walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }

    private void writeJsonl(List<CaptionRow> rows) throws IOException {
        Path target = layout.resultsJsonl();
        Path tmp = target.resolveSibling(".results.jsonl.tmp");
        try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (CaptionRow row : rows) {
                out.write(row.toJsonLine(false));
                out.write('\n');
            }
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Thumbnails of every decodable image, named by the row's sequence, on a few threads with a bounded number of
     * images in memory; returns the sequences that got one.
     */
    private Set<String> thumbnails(InputPlan plan) throws IOException {
        OutputLayout.deleteTree(layout.thumbs());   // none left over from an earlier run into this folder
        Files.createDirectories(layout.thumbs());
        Thumbnails maker = new Thumbnails(settings.thumbnailSize(), maxPixels);
        Set<String> made = ConcurrentHashMap.newKeySet();
        int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Semaphore inFlight = new Semaphore(threads * 2);
        try {
            for (InputSplit split : plan.splits()) {
                try (InputEntries entries = InputEntries.open(split.at(0), maxBytes, true)) {
                    long position = 0;
                    InputEntry entry;
                    while ((entry = entries.next()) != null) {
                        String sequence = InputSplit.sequence(split.index(), position++);
                        if (entry.isFailure()) {
                            continue;
                        }
                        InputEntry image = entry;
                        inFlight.acquireUninterruptibly();
                        pool.execute(() -> {
                            try {
                                byte[] bytes = image.bytes() != null ? image.bytes() : readFile(image.uri());
                                if (bytes != null && maker.write(bytes, layout.thumbs().resolve(sequence + ".jpg"))) {
                                    made.add(sequence);
                                }
                            } finally {
                                inFlight.release();
                            }
                        });
                    }
                }
            }
        } finally {
            pool.shutdown();
            try {
                pool.awaitTermination(1, TimeUnit.HOURS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new HashSet<>(made);
    }

    private byte[] readFile(String uri) {
        try (InputStream in = Files.newInputStream(Path.of(URI.create(uri)))) {
            return InputEntries.readBounded(in, maxBytes);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

}
