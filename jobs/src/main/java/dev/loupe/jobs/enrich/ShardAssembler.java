package dev.loupe.jobs.enrich;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.jobs.webdataset.ShardCopier;
import dev.loupe.jobs.webdataset.ShardSet;
import dev.loupe.model.files.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Writes enriched WebDataset shards: each input shard under the same name in the output folder, every member as it
 * is and in the same order, with a {@code KEY.loupe.json} member after each sample holding the added columns from
 * the journal and the error column ({@code {"caption": "...", "kind": "cat", "kind_scores": {...}, "error": null}}).
 * The shards are written into a hidden folder beside the output and each moved into place when all are written, so
 * an interruption leaves the output's shards as they were.
 */
final class ShardAssembler {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ShardAssembler() {}

    static OutputAssembler.Counts write(EnrichSettings settings, Journal journal, long maxBytes) throws IOException {
        WebDatasetSettings shards = settings.shards();
        ShardSet set = shards.shards();
        Path tmp = settings.output().resolveSibling("." + settings.output().getFileName() + ".writing");
        FileTrees.deleteRecursively(tmp);
        long[] counts = new long[2];
        try {
            for (Path shard : set.shards()) {
                Path target = tmp.resolve(set.relative(shard));
                Files.createDirectories(target.getParent());
                ShardCopier.copy(shard, target, shards.addedExtension(), sample -> {
                    Set<String> errors = new LinkedHashSet<>();
                    SampleImage image = SampleImage.of(shard, sample, shards.imageExtension(), maxBytes);
                    if (image.error() != null) {
                        errors.add(image.error());
                    }
                    RowAnnotations annotations = RowAnnotations.of(settings, journal, image.key(), errors);
                    counts[0]++;
                    counts[1] += errors.isEmpty() ? 0 : 1;
                    return JSON.writeValueAsBytes(json(settings, annotations));
                });
            }
            for (Path shard : set.shards()) {
                Path target = settings.output().resolve(set.relative(shard));
                Files.createDirectories(target.getParent());
                Files.move(tmp.resolve(set.relative(shard)), target, StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            FileTrees.deleteRecursively(tmp);
        }
        return new OutputAssembler.Counts(counts[0], counts[1]);
    }

    /** The added member's object: the added columns in order (a ranking's scores as JSON), then the error. */
    private static ObjectNode json(EnrichSettings settings, RowAnnotations annotations) throws IOException {
        ObjectNode object = JSON.createObjectNode();
        for (Map.Entry<String, String> value : annotations.values().entrySet()) {
            boolean scores = value.getValue() != null && !settings.columns().stream()
                    .anyMatch(c -> c.name().equals(value.getKey()));
            if (scores) {
                object.set(value.getKey(), JSON.readTree(value.getValue()));
            } else {
                object.put(value.getKey(), value.getValue());
            }
        }
        object.put(settings.errorColumn(), annotations.error());
        return object;
    }
}
