package dev.loupe.jobs.caption;

import dev.loupe.config.JobOptions;
import dev.loupe.model.api.Task;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * {@code loupe caption}'s settings after validation ({@link CaptionOptions} plus the shared parallelism, checkpoint
 * and restart options of {@link JobOptions}); {@link #from} names the offending option on error.
 *
 * @param progressInterval null: the console default of {@code BoundedJobRunner.forConsole}
 */
public record CaptionSettings(List<String> inputs, String imageColumn, Path output, RequestTemplate template, int filesPerSplit,
        int thumbnailSize, int pageSize, Duration progressInterval, Duration checkpointInterval, int parallelism,
        int restartAttempts, Duration restartDelay, int sortRunRows, InputFormat inputFormat, boolean objectReuse) {

    public CaptionSettings {
        inputs = List.copyOf(inputs);
    }

    public static CaptionSettings from(ReadableConfig config) {
        List<String> inputs = config.getOptional(CaptionOptions.INPUTS).orElse(List.of()).stream()
                .map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (inputs.isEmpty()) {
            throw bad(CaptionOptions.INPUTS, "is required: give at least one --input (folder, glob, archive or image)");
        }
        String output = config.getOptional(CaptionOptions.OUTPUT).map(String::strip).filter(s -> !s.isEmpty())
                .orElseThrow(() -> bad(CaptionOptions.OUTPUT, "is required: the --output folder"));
        Task task;
        try {
            task = Task.fromWireName(config.get(CaptionOptions.TASK).strip().toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw bad(CaptionOptions.TASK, "must be caption, vqa or rank, got '" + config.get(CaptionOptions.TASK) + "'");
        }
        String question = config.getOptional(CaptionOptions.QUESTION).orElse(null);
        if (task == Task.CAPTION && question != null && config.getOptional(CaptionOptions.TASK).isEmpty()) {
            task = Task.VQA;   // as annotate: a question implies vqa
        }
        List<String> candidates = config.getOptional(CaptionOptions.CANDIDATES).orElse(List.of());
        RequestTemplate template = new RequestTemplate(task.name(),
                config.getOptional(CaptionOptions.PROMPT).orElse(null), question, candidates,
                config.getOptional(CaptionOptions.MAX_NEW_TOKENS).orElse(null),
                config.getOptional(CaptionOptions.MIN_NEW_TOKENS).orElse(null),
                config.getOptional(CaptionOptions.NUM_BEAMS).orElse(null), null,
                config.getOptional(CaptionOptions.LENGTH_PENALTY).orElse(null),
                config.getOptional(CaptionOptions.REPETITION_PENALTY).orElse(null),
                config.getOptional(CaptionOptions.DO_SAMPLE).orElse(null),
                config.getOptional(CaptionOptions.TEMPERATURE).orElse(null),
                config.getOptional(CaptionOptions.TOP_K).orElse(null),
                config.getOptional(CaptionOptions.TOP_P).orElse(null),
                config.getOptional(CaptionOptions.SEED).orElse(null),
                config.getOptional(CaptionOptions.EARLY_STOPPING).orElse(null));
        int filesPerSplit = atLeast(config, CaptionOptions.FILES_PER_SPLIT, 1);
        int thumbnailSize = atLeast(config, CaptionOptions.THUMBNAIL_SIZE, 16);
        int pageSize = atLeast(config, CaptionOptions.PAGE_SIZE, 1);
        int sortRunRows = atLeast(config, CaptionOptions.SORT_RUN_ROWS, 1);
        Duration progress = config.getOptional(CaptionOptions.PROGRESS_INTERVAL).orElse(null);
        if (progress != null && (progress.isZero() || progress.isNegative())) {
            throw bad(CaptionOptions.PROGRESS_INTERVAL, "must be positive, got " + progress);
        }
        Duration interval = config.get(JobOptions.CHECKPOINT_INTERVAL);
        if (interval.isZero() || interval.isNegative()) {
            throw bad(JobOptions.CHECKPOINT_INTERVAL, "must be positive, got " + interval);
        }
        int parallelism = atLeast(config, JobOptions.PARALLELISM, 1);
        int attempts = atLeast(config, JobOptions.RESTART_ATTEMPTS, 0);
        Duration delay = config.get(JobOptions.RESTART_DELAY);
        if (delay.isNegative()) {
            throw bad(JobOptions.RESTART_DELAY, "must not be negative");
        }
        String column = config.get(CaptionOptions.IMAGE_COLUMN).strip();
        if (column.isEmpty()) {
            throw bad(CaptionOptions.IMAGE_COLUMN, "must not be blank");
        }
        return new CaptionSettings(inputs, column, Path.of(output).toAbsolutePath().normalize(), template, filesPerSplit,
                thumbnailSize, pageSize, progress, interval, parallelism, attempts, delay, sortRunRows,
                config.get(CaptionOptions.INPUT_FORMAT), config.get(JobOptions.OBJECT_REUSE));
    }

    private static int atLeast(ReadableConfig config, ConfigOption<Integer> option, int min) {
        int value = config.get(option);
        if (value < min) {
            throw bad(option, "must be at least " + min + ", got " + value);
        }
        return value;
    }

    private static IllegalArgumentException bad(ConfigOption<?> option, String why) {
        return new IllegalArgumentException(option.key() + " " + why);
    }
}
