package dev.loupe.jobs.enrich;

import dev.loupe.jobs.webdataset.ShardReader;
import dev.loupe.jobs.webdataset.ShardSample;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Path;
import java.util.List;

/**
 * Plans the enrichment of WebDataset shards: reads every shard's member names (not their bytes), and plans the
 * requests of each sample's image the journal does not hold. A sample that already has the member the enrichment
 * adds is refused (choose another {@code loupe.enrich.webdataset-extension}); so is a shard that cannot be read
 * (truncated, not a tar), naming it, before anything runs: its copy could not keep every member.
 */
final class ShardPlanner {

    private ShardPlanner() {}

    /** Plans into {@code pending}, one {@link ShardImageLine} a line in {@code work}; returns the number of samples. */
    static long plan(EnrichSettings settings, PendingRequests pending, Writer work, long maxBytes)
            throws IOException {
        WebDatasetSettings shards = settings.shards();
        long samples = 0;
        for (Path shard : shards.shards().shards()) {
            try (ShardReader reader = ShardReader.open(shard, name -> 0)) {
                for (ShardSample sample; (sample = reader.next()) != null; ) {
                    samples++;
                    if (sample.member(shards.addedExtension()) != null) {
                        throw new IllegalArgumentException("sample " + sample.key() + " of shard " + shard
                                + " already has a ." + shards.addedExtension() + " member: choose another "
                                + "--webdataset-extension");
                    }
                    SampleImage image = SampleImage.of(shard, sample, shards.imageExtension(), maxBytes);
                    List<String> columns = image.key() == null ? List.of() : pending.columns(image.key());
                    if (!columns.isEmpty()) {
                        work.write(new ShardImageLine(columns, image.key(), shard.toUri().toString(), image.offset(),
                                (int) image.size()).line());
                        work.write('\n');
                    }
                }
            } catch (IOException e) {   // bad input, as a bad option: refused before anything runs
                throw new IllegalArgumentException("cannot read shard " + shard + ": " + e.getMessage(), e);
            }
        }
        return samples;
    }
}
