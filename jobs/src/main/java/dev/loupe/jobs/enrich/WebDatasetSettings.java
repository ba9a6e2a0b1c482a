package dev.loupe.jobs.enrich;

import dev.loupe.jobs.webdataset.MemberName;
import dev.loupe.jobs.webdataset.ShardReader;
import dev.loupe.jobs.webdataset.ShardSet;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The WebDataset side of an enrichment's settings: the input shards, which member of a sample is its image, and
 * the extension of the member added to each sample. The output is a folder holding the same shard names.
 *
 * @param imageExtension the image member's extension; null: a sample's first image member
 */
public record WebDatasetSettings(ShardSet shards, String imageExtension, String addedExtension)
        implements Serializable {

    private static final Pattern EXTENSION = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");

    /**
     * The shard settings of {@code config}, or null when its input is a table.
     *
     * @throws IllegalArgumentException naming the option when one is wrong
     */
    static WebDatasetSettings from(ReadableConfig config) {
        String input = config.get(EnrichOptions.INPUT).strip();
        boolean shards = config.getOptional(EnrichOptions.INPUT_FORMAT).map(WebDatasetSettings::isWebDataset)
                .orElseGet(() -> ShardSet.names(input));
        if (!shards) {
            return null;
        }
        config.getOptional(EnrichOptions.OUTPUT_FORMAT).filter(f -> !isWebDataset(f)).ifPresent(f -> {
            throw new IllegalArgumentException("WebDataset shards are written as shards: leave out --output-format "
                    + f);
        });
        ShardSet set = ShardSet.of(input);
        set.shards().stream().filter(ShardReader::compressed).findFirst().ifPresent(shard -> {
            throw new IllegalArgumentException("shard " + shard + " is compressed: loupe enrich reads uncompressed "
                    + ".tar shards (it reads each image in place); decompress it first (gunzip)");
        });
        Path output = Path.of(config.get(EnrichOptions.OUTPUT).strip()).toAbsolutePath().normalize();
        if (output.equals(set.root()) || (Files.isDirectory(Path.of(input)) && output.startsWith(set.root()))) {
            throw new IllegalArgumentException("--output " + output + " must be a folder outside the input's folder "
                    + set.root() + " (the shards are written under the same names)");
        }
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new IllegalArgumentException("--output " + output + " must be a folder for WebDataset shards");
        }
        String image = config.getOptional(EnrichOptions.IMAGE_COLUMN).map(String::strip).filter(s -> !s.isEmpty())
                .map(s -> s.startsWith(".") ? s.substring(1) : s).orElse(null);
        String added = config.get(EnrichOptions.WEBDATASET_EXTENSION).strip();
        if (!EXTENSION.matcher(added).matches() || MemberName.IMAGE_EXTENSIONS.contains(added.toLowerCase(Locale.ROOT))
                || added.equalsIgnoreCase(image)) {
            throw new IllegalArgumentException(EnrichOptions.WEBDATASET_EXTENSION.key() + " '" + added + "' cannot "
                    + "name the added member: use letters, digits, _, - and . (not an image extension)");
        }
        return new WebDatasetSettings(set, image, added);
    }

    private static boolean isWebDataset(String format) {
        String name = format.strip().toLowerCase(Locale.ROOT);
        return name.equals("webdataset") || name.equals("wds");
    }
}
