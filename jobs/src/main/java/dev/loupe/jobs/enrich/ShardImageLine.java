package dev.loupe.jobs.enrich;

import java.util.Arrays;
import java.util.List;

/**
 * One line of a WebDataset run's work file: a sample's image and the columns still to compute for it,
 * {@code COLUMN[,COLUMN...]:KEY}, then tab-separated the shard's URI and the image member's offset and size in it,
 * where the job reads its bytes. Column names hold no comma or colon, and keys, shard URIs and member names no line
 * break or tab ({@link SampleImage}), so the line splits unambiguously.
 */
record ShardImageLine(List<String> columns, String key, String shard, long offset, int size) {

    ShardImageLine {
        columns = List.copyOf(columns);
    }

    String line() {
        return String.join(",", columns) + ":" + key + "\t" + shard + "\t" + offset + "\t" + size;
    }

    static ShardImageLine parse(String line) {
        int colon = line.indexOf(':');
        int sizeTab = line.lastIndexOf('\t');
        int offsetTab = line.lastIndexOf('\t', sizeTab - 1);
        int shardTab = line.lastIndexOf('\t', offsetTab - 1);
        return new ShardImageLine(Arrays.asList(line.substring(0, colon).split(",")),
                line.substring(colon + 1, shardTab), line.substring(shardTab + 1, offsetTab),
                Long.parseLong(line.substring(offsetTab + 1, sizeTab)), Integer.parseInt(line.substring(sizeTab + 1)));
    }
}
