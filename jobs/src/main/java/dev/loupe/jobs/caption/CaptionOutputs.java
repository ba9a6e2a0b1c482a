package dev.loupe.jobs.caption;

import dev.loupe.model.files.FileTrees;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import dev.loupe.jobs.table.TableFormat;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;

/**
 * Turns a finished caption job's part files into the contract outputs, in input order: {@code results.jsonl},
 * {@code results.parquet}, JPEG thumbnails in {@code thumbs/} (made by reading the inputs once more) and the
 * {@link ContactSheet}. Memory stays bounded however many images there are: the JSONL part files are read streaming into {@link SortedRuns}, which spills sorted runs under the job's working
 * folder, and the merged rows stream to every output at once. Each file is written to a temporary name and moved
 * into place, so a crash here leaves no half-written output, and running it again gives the same files.
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

    /** Writes every output from the committed part files; returns the number of rows. */
    public long write(InputPlan plan) throws IOException {
        thumbnails(plan);
        ContactSheet.Totals totals = new ContactSheet.Totals();
        Path jsonlTmp = layout.resultsJsonl().resolveSibling(".results.jsonl.tmp");
        Path parquetTmp = layout.resultsParquet().resolveSibling(".results.parquet.tmp");
        boolean samples = plan.splits().stream().anyMatch(s -> s.kind() == InputSplit.Kind.WEBDATASET);
        try (SortedRuns sorted = new SortedRuns(layout.work().resolve("sort"), settings.sortRunRows())) {
            readParts(layout.parts().resolve("jsonl"), row -> {
                totals.add(row);
                sorted.add(row);
            });
            try (BufferedWriter jsonl = Files.newBufferedWriter(jsonlTmp, StandardCharsets.UTF_8);
                    TableWriter parquet = Tables.create(parquetTmp, TableFormat.PARQUET,
                            samples ? CaptionTable.RESULTS_WITH_SAMPLES : CaptionTable.RESULTS);
                    ContactSheet.Pages sheet = new ContactSheet(layout.root(), settings.pageSize()).open(totals)) {
                sorted.merge(row -> {
                    jsonl.write(row.toJsonLine(false));
                    jsonl.write('\n');
                    parquet.write(samples ? CaptionTable.rowWithSample(row) : CaptionTable.row(row));
                    sheet.add(row, Files.exists(layout.thumbs().resolve(row.sequence + ".jpg")));
                });
                sheet.finish();
            }
            Files.move(jsonlTmp, layout.resultsJsonl(), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            Files.move(parquetTmp, layout.resultsParquet(), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(jsonlTmp);
            Files.deleteIfExists(parquetTmp);
        }
        return totals.rows;
    }

    /** Hands every row of the committed part files under {@code parts} to {@code out}, file by file, unsorted. */
    static void readParts(Path parts, SortedRuns.RowSink out) throws IOException {
        for (Path file : committedFiles(parts)) {
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.isBlank()) {
                        out.accept(CaptionRow.parse(line));
                    }
                }
            }
        }
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

    /**
     * Thumbnails of every decodable image, named by the row's sequence, on a few threads with a bounded number of
     * images in memory; {@code thumbs/SEQUENCE.jpg} exists for those that got one.
     */
    private void thumbnails(InputPlan plan) throws IOException {
        FileTrees.deleteRecursively(layout.thumbs());   // none left over from an earlier run into this folder
        Files.createDirectories(layout.thumbs());
        Thumbnails maker = new Thumbnails(settings.thumbnailSize(), maxPixels);
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
                                if (bytes != null) {
                                    maker.write(bytes, layout.thumbs().resolve(sequence + ".jpg"));
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
    }

    private byte[] readFile(String uri) {
        try (InputStream in = Files.newInputStream(Path.of(URI.create(uri)))) {
            return InputEntries.readBounded(in, maxBytes);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

}
