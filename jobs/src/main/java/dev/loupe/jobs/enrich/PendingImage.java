package dev.loupe.jobs.enrich;

import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * One line of a run's work file: an image and the columns still to compute for it, {@code COLUMN[,COLUMN...]:KEY}
 * for an image the pipeline fetches (the key is its URI), followed by a tab and the base64 bytes for an image inside
 * the table (the key is their hash). Column names hold no comma or colon and references no line break or tab
 * ({@link dev.loupe.jobs.table.ImageCell}), so the line splits unambiguously; an inline image's bytes are written
 * once however many columns it needs.
 *
 * @param bytes null for a fetched image
 */
record PendingImage(List<String> columns, String key, byte[] bytes) {

    PendingImage {
        columns = List.copyOf(columns);
    }

    String line() {
        String line = String.join(",", columns) + ":" + key;
        return bytes == null ? line : line + "\t" + Base64.getEncoder().encodeToString(bytes);
    }

    static PendingImage parse(String line) {
        int colon = line.indexOf(':');
        int tab = line.indexOf('\t', colon);
        List<String> columns = Arrays.asList(line.substring(0, colon).split(","));
        if (tab < 0) {
            return new PendingImage(columns, line.substring(colon + 1), null);
        }
        return new PendingImage(columns, line.substring(colon + 1, tab),
                Base64.getDecoder().decode(line.substring(tab + 1)));
    }
}
