package dev.loupe.jobs.caption;

import dev.loupe.jobs.table.ImageCell;
import dev.loupe.jobs.table.TableReader;
import dev.loupe.jobs.table.TableRow;
import dev.loupe.jobs.table.Tables;
import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The images a manifest table lists (CSV, JSONL or Parquet, read with {@code dev.loupe.jobs.table}), one per row, from
 * its image column: a path (relative to the manifest's folder) or a {@code file:} path, which the pipeline reads
 * inside that folder; an http(s) or other URI, fetched by the pipeline under its address policy; or image bytes
 * (a Parquet binary column). A row without an image becomes a failure entry.
 */
final class ManifestEntries extends InputEntries {

    private final InputSplit split;
    private final TableReader table;
    private final int column;
    private final Path folder;
    private long row;

    ManifestEntries(InputSplit split) throws IOException {
        this.split = split;
        Path file = Path.of(split.path());
        this.folder = file.getParent();
        this.table = Tables.open(file);
        if (!table.schema().has(split.column())) {
            String columns = String.join(", ", table.schema().names());
            table.close();
            throw new IllegalArgumentException("manifest " + split.label() + " has no column '" + split.column()
                    + "' (its columns: " + columns + "); name the image column with --image-column");
        }
        this.column = table.schema().indexOf(split.column());
    }

    @Override
    public InputEntry next() throws IOException {
        TableRow values = table.read();
        if (values == null) {
            return null;
        }
        row++;
        ImageCell image;
        try {
            image = ImageCell.of(values.get(column), folder);
        } catch (IllegalArgumentException e) {
            return InputEntry.failed(split.label() + "#" + row, ErrorCode.INVALID_REQUEST, "row " + row
                    + " of manifest " + split.label() + " has no image in column '" + split.column() + "': "
                    + e.getMessage());
        }
        return image.inline() ? InputEntry.inline(split.label() + "#" + row, image.bytes())
                : InputEntry.file(image.reference(), image.uri());
    }

    @Override
    public void close() throws IOException {
        table.close();
    }
}
