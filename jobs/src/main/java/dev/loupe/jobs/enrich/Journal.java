package dev.loupe.jobs.enrich;

import dev.loupe.jobs.table.Column;
import dev.loupe.jobs.table.TableFormat;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.TableSchema;
import dev.loupe.jobs.table.Tables;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The resume journal of an enrichment: one record per annotation (image key — its URI, or {@code sha256:HEX} of
 * the bytes of an image inside the table, see {@link ImageReferences}; in the field {@code uri} — column, value or
 * error, model fingerprint, prompt hash), written as JSON lines by the job's {@code FileSink} into {@code parts/} and committed
 * at each checkpoint. Only committed part files count (in-progress and pending ones are hidden files), so what a
 * crash or cancellation loses is recomputed by the next run and nothing half-written is trusted. {@code work/}
 * holds the running job's list of pending images ({@link PendingImage}).
 */
final class Journal {

    static final TableSchema SCHEMA = TableSchema.of(Column.string("uri"), Column.string("column"),
            Column.string("value"), Column.string("scores"), Column.string("error"), Column.string("model"),
            Column.string("prompt"));

    /** A record's annotation: {@code value} (and {@code scores} for rankings, JSON) or {@code error}. */
    record Entry(String value, String scores, String error) {
        boolean ok() {
            return error == null;
        }
    }

    private final Map<String, Entry> entries;

    private Journal(Map<String, Entry> entries) {
        this.entries = entries;
    }

    static Path parts(Path journal) {
        return journal.resolve("parts");
    }

    static Path work(Path journal) {
        return journal.resolve("work");
    }

    static TableRow record(String uri, String column, String value, String scores, String error, String model,
            String prompt) {
        return TableRow.of(uri, column, value, scores, error, model, prompt);
    }

    /**
     * The committed records of {@code journal} made by model {@code model}; a success replaces an error for the
     * same (image, column, prompt), never the other way round.
     */
    static Journal read(Path journal, String model) throws IOException {
        Map<String, Entry> entries = new HashMap<>();
        for (Path file : committedParts(journal)) {
            try (TableReader reader = Tables.open(file, TableFormat.JSONL)) {
                TableSchema schema = reader.schema();
                for (TableRow row; (row = reader.read()) != null; ) {
                    if (!model.equals(text(row, schema, "model"))) {
                        continue;
                    }
                    Entry entry = new Entry(text(row, schema, "value"), text(row, schema, "scores"),
                            text(row, schema, "error"));
                    String key = key(text(row, schema, "uri"), text(row, schema, "column"),
                            text(row, schema, "prompt"));
                    entries.merge(key, entry, (old, now) -> old.ok() ? old : now);
                }
            }
        }
        return new Journal(entries);
    }

    /** The committed part files (hidden files are in-progress or pending parts, or a compaction under way). */
    static List<Path> committedParts(Path journal) throws IOException {
        Path parts = parts(journal);
        if (!Files.isDirectory(parts)) {
            return List.of();
        }
        for (int attempt = 1; ; attempt++) {
            try (Stream<Path> walk = Files.walk(parts)) {
                return walk.filter(Files::isRegularFile)
                        .filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
            } catch (java.io.UncheckedIOException e) {
                // a reader beside a running job: the sink renamed an in-progress file while the walk listed it
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 5) {
                    throw e.getCause();
                }
            }
        }
    }

    /**
     * Joins the committed parts into one file (a checkpoint makes a part per subtask, so a journal collects many
     * small files over the runs). Only while no job writes the journal. The joined file is complete before it
     * becomes visible; a crash before the old parts are deleted leaves duplicate records, which reading tolerates.
     */
    static void compact(Path journal, String runId) throws IOException {
        List<Path> parts = committedParts(journal);
        if (parts.size() <= 1) {
            return;
        }
        Path tmp = parts(journal).resolve(".compacting-" + runId);
        try (var out = Files.newOutputStream(tmp)) {
            for (Path part : parts) {
                Files.copy(part, out);   // the encoder ends every record with a line feed
            }
        }
        Files.move(tmp, parts(journal).resolve("journal-" + runId + "-compacted.jsonl"),
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        for (Path part : parts) {
            Files.delete(part);
        }
    }

    /** The committed annotation of {@code column} (asked as {@code prompt}) for the image keyed {@code uri}, or null. */
    Entry get(String uri, String column, String prompt) {
        return entries.get(key(uri, column, prompt));
    }

    /** Whether {@code column} for {@code uri} was annotated successfully with {@code prompt}. */
    boolean done(String uri, String column, String prompt) {
        Entry entry = get(uri, column, prompt);
        return entry != null && entry.ok();
    }

    int size() {
        return entries.size();
    }

    private static String key(String uri, String column, String prompt) {
        return prompt + "\u0000" + column + "\u0000" + uri;
    }

    private static String text(TableRow row, TableSchema schema, String column) {
        if (!schema.has(column)) {
            return null;
        }
        Object value = row.get(schema.indexOf(column));
        return value == null ? null : Objects.toString(value);
    }
}
