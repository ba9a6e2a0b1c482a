package dev.loupe.jobs.enrich;

import dev.loupe.jobs.table.TableFormat;
import dev.loupe.schemas.Task;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The enrichment job's settings, read from {@link EnrichOptions} and checked once, with the columns it adds in
 * order: the caption, the answers, then the rankings.
 *
 * @param shards the WebDataset shards to enrich, or null for a table (then the formats are set)
 */
public record EnrichSettings(Path model, Path input, TableFormat inputFormat, Path output, TableFormat outputFormat,
        String imageColumn, List<AddedColumn> columns, boolean candidateScores, String errorColumn, Path journal,
        WebDatasetSettings shards) implements Serializable {

    /** Whether the input is WebDataset shards rather than a table. */
    public boolean webdataset() {
        return shards != null;
    }

    /**
     * The settings in {@code config}.
     *
     * @throws IllegalArgumentException naming the option when one is missing or wrong
     */
    public static EnrichSettings from(ReadableConfig config) {
        Path model = Path.of(required(config, EnrichOptions.MODEL));
        Path input = Path.of(required(config, EnrichOptions.INPUT)).toAbsolutePath().normalize();
        Path output = Path.of(required(config, EnrichOptions.OUTPUT)).toAbsolutePath().normalize();
        WebDatasetSettings shards = WebDatasetSettings.from(config);
        if (shards == null && !Files.isRegularFile(input)) {
            throw new IllegalArgumentException("--input " + input + " is not a file");
        }
        if (input.equals(output)) {
            throw new IllegalArgumentException("--output must differ from --input (the input is read again at the "
                    + "end to write the output)");
        }
        if (output.getParent() != null && !Files.isDirectory(output.getParent())) {
            throw new IllegalArgumentException("--output's folder " + output.getParent() + " does not exist");
        }
        TableFormat inputFormat = shards != null ? null : config.getOptional(EnrichOptions.INPUT_FORMAT)
                .map(TableFormat::parse).orElseGet(() -> TableFormat.of(input));
        TableFormat outputFormat = shards != null ? null : config.getOptional(EnrichOptions.OUTPUT_FORMAT)
                .map(TableFormat::parse).orElseGet(() -> TableFormat.of(output));
        String imageColumn = shards != null ? shards.imageExtension() : config.get(EnrichOptions.IMAGE_COLUMN).strip();
        if (shards == null && imageColumn.isEmpty()) {
            throw new IllegalArgumentException(EnrichOptions.IMAGE_COLUMN.key() + " must not be blank");
        }
        Integer maxNewTokens = config.getOptional(EnrichOptions.MAX_NEW_TOKENS).orElse(null);
        Integer numBeams = config.getOptional(EnrichOptions.NUM_BEAMS).orElse(null);
        if (maxNewTokens != null && maxNewTokens < 1) {
            throw new IllegalArgumentException(EnrichOptions.MAX_NEW_TOKENS.key() + " must be at least 1");
        }
        if (numBeams != null && numBeams < 1) {
            throw new IllegalArgumentException(EnrichOptions.NUM_BEAMS.key() + " must be at least 1");
        }

        List<AddedColumn> columns = new ArrayList<>();
        if (config.get(EnrichOptions.CAPTION)) {
            columns.add(new AddedColumn(config.get(EnrichOptions.CAPTION_COLUMN), Task.CAPTION, null, List.of(),
                    maxNewTokens, numBeams));
        }
        int unnamed = 0;
        for (String question : config.get(EnrichOptions.QUESTIONS)) {
            int eq = question.indexOf('=');
            String name;
            String text;
            if (eq > 0 && AddedColumn.isName(question.substring(0, eq).strip())) {
                name = question.substring(0, eq).strip();
                text = question.substring(eq + 1).strip();
            } else {
                name = "answer_" + (++unnamed);
                text = question.strip();
            }
            if (text.isEmpty()) {
                throw new IllegalArgumentException("question for column " + name + " is empty");
            }
            columns.add(new AddedColumn(name, Task.VQA, text, List.of(), maxNewTokens, numBeams));
        }
        for (Map.Entry<String, String> ranking : config.get(EnrichOptions.CANDIDATES).entrySet()) {
            List<String> labels = Arrays.stream(ranking.getValue().split("\\|")).map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
            if (labels.isEmpty()) {
                throw new IllegalArgumentException("ranking " + ranking.getKey() + " has no candidate labels");
            }
            columns.add(new AddedColumn(ranking.getKey().strip(), Task.RANK, null, labels, null, null));
        }
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("nothing to add: ask for a caption, a --question or --candidates");
        }
        boolean scores = config.get(EnrichOptions.CANDIDATE_SCORES);
        String errorColumn = config.get(EnrichOptions.ERROR_COLUMN);
        AddedColumn.checkName(errorColumn);
        Set<String> names = new HashSet<>();
        for (AddedColumn column : columns) {
            for (String name : column.task() == Task.RANK && scores
                    ? List.of(column.name(), column.scoresColumn()) : List.of(column.name())) {
                if (!names.add(name) || name.equals(errorColumn)) {
                    throw new IllegalArgumentException("column " + name + " is added twice");
                }
            }
        }
        Path journal = config.getOptional(EnrichOptions.JOURNAL).map(p -> Path.of(p).toAbsolutePath().normalize())
                .orElse(output.resolveSibling(output.getFileName() + ".loupe-journal"));
        return new EnrichSettings(model, input, inputFormat, output, outputFormat, imageColumn, List.copyOf(columns),
                scores, errorColumn, journal, shards);
    }

    private static String required(ReadableConfig config, ConfigOption<String> option) {
        return config.getOptional(option).filter(s -> !s.isBlank()).orElseThrow(() ->
                new IllegalArgumentException(option.key() + " is required"));
    }
}
