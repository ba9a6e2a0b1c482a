package dev.loupe.jobs.caption;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import dev.loupe.jobs.table.TableFormat;
import dev.loupe.jobs.table.TableWriter;
import dev.loupe.jobs.table.Tables;

/**
 * Turns a finished caption job's part files into the contract outputs, in input order: {@code results.jsonl},
 * {@code results.parquet} and the {@link ContactSheet} over the JPEG thumbnails the job wrote into
 * {@code thumbs/} ({@link ThumbnailSink}). Memory stays bounded however many images there are: the JSONL part files are read streaming into {@link SortedRuns}, which spills sorted runs under the job's working
 * folder, and the merged rows stream to every output at once. Each file is written to a temporary name and moved
 * into place, so a crash here leaves no half-written output, and running it again gives the same files.
 */
public final class CaptionOutputs {
    private final OutputLayout layout;
    private final CaptionSettings settings;

    public CaptionOutputs(OutputLayout layout, CaptionSettings settings) {
        this.layout = layout;
        this.settings = settings;
    }

    /** Writes every output from the committed part files; returns the number of rows. */
    public long write() throws IOException {
        ContactSheet.Totals totals = new ContactSheet.Totals();
        Path jsonlTmp = layout.resultsJsonl().resolveSibling(".results.jsonl.tmp");
        Path parquetTmp = layout.resultsParquet().resolveSibling(".results.parquet.tmp");
        boolean[] withSamples = {false};   // rows of WebDataset samples: results.parquet gets a sample column
        try (SortedRuns sorted = new SortedRuns(layout.work().resolve("sort"), settings.sortRunRows())) {
            readParts(layout.parts().resolve("jsonl"), row -> {
                totals.add(row);
                sorted.add(row);
                withSamples[0] |= row.sample != null;
            });
            boolean samples = withSamples[0];
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


}
