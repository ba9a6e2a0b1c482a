package dev.loupe.jobs.caption;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * {@code loupe caption}'s own options, typed, with their defaults; read and checked once by
 * {@link CaptionSettings#from}. The pipeline's options (batching, fetch limits) are {@code dev.loupe.flink.LoupeOptions};
 * parallelism, checkpoint interval and restarts are the shared {@code dev.loupe.config.JobOptions}.
 */
public final class CaptionOptions {

    private CaptionOptions() {}

    public static final ConfigOption<List<String>> INPUTS = ConfigOptions.key("loupe.caption.inputs")
            .stringType().asList().noDefaultValue()
            .withDescription("What to caption: folders (recursive), glob patterns, tar / tar.gz / zip archives "
                    + "(streamed, not extracted) or image files, ';'-separated.");

    public static final ConfigOption<String> OUTPUT = ConfigOptions.key("loupe.caption.output")
            .stringType().noDefaultValue()
            .withDescription("Output folder: results.jsonl, results.parquet, index.html and thumbs/; while the job "
                    + "runs, also its checkpoints and part files, so the same command resumes an interrupted run.");

    public static final ConfigOption<String> IMAGE_COLUMN = ConfigOptions.key("loupe.caption.image-column")
            .stringType().defaultValue("image")
            .withDescription("Column of a manifest input (.csv, .jsonl, .parquet) holding each row's image: a path "
                    + "relative to the manifest, a URI, or image bytes.");

    public static final ConfigOption<InputFormat> INPUT_FORMAT = ConfigOptions.key("loupe.caption.input-format")
            .enumType(InputFormat.class).defaultValue(InputFormat.AUTO)
            .withDescription("How tar archives are read: images (every image entry is a row), webdataset (every "
                    + "sample, the members sharing a key, is a row, with its .txt/.json/.cls members carried into "
                    + "the row's 'sample' field) or auto (webdataset when one of a tar's first samples holds an "
                    + "image and another member).");

    public static final ConfigOption<String> TASK = ConfigOptions.key("loupe.caption.task")
            .stringType().defaultValue("caption")
            .withDescription("caption, vqa (needs a question) or rank (needs candidates).");

    public static final ConfigOption<String> PROMPT = ConfigOptions.key("loupe.caption.prompt")
            .stringType().noDefaultValue()
            .withDescription("Prompt for every image, verbatim (default: the task's template).");

    public static final ConfigOption<String> QUESTION = ConfigOptions.key("loupe.caption.question")
            .stringType().noDefaultValue()
            .withDescription("Question for every image, wrapped in the VQA template.");

    public static final ConfigOption<List<String>> CANDIDATES = ConfigOptions.key("loupe.caption.candidates")
            .stringType().asList().noDefaultValue()
            .withDescription("Answers to score for task rank, ';'-separated.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions.key("loupe.caption.max-new-tokens")
            .intType().noDefaultValue().withDescription("Most tokens generated (default: the model's for the task).");

    public static final ConfigOption<Integer> MIN_NEW_TOKENS = ConfigOptions.key("loupe.caption.min-new-tokens")
            .intType().noDefaultValue().withDescription("Fewest tokens generated before end-of-sequence.");

    public static final ConfigOption<Integer> NUM_BEAMS = ConfigOptions.key("loupe.caption.num-beams")
            .intType().noDefaultValue().withDescription("Beam width (default: the model's).");

    public static final ConfigOption<Double> LENGTH_PENALTY = ConfigOptions.key("loupe.caption.length-penalty")
            .doubleType().noDefaultValue().withDescription("Beam score = sum of log-probs / length ** this.");

    public static final ConfigOption<Double> REPETITION_PENALTY = ConfigOptions.key("loupe.caption.repetition-penalty")
            .doubleType().noDefaultValue().withDescription("Penalty on ids already in the prompt or output.");

    public static final ConfigOption<Boolean> DO_SAMPLE = ConfigOptions.key("loupe.caption.do-sample")
            .booleanType().noDefaultValue().withDescription("Sample instead of searching.");

    public static final ConfigOption<Double> TEMPERATURE = ConfigOptions.key("loupe.caption.temperature")
            .doubleType().noDefaultValue().withDescription("Sampling temperature.");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("loupe.caption.top-k")
            .intType().noDefaultValue().withDescription("Sample among the k most likely tokens.");

    public static final ConfigOption<Double> TOP_P = ConfigOptions.key("loupe.caption.top-p")
            .doubleType().noDefaultValue().withDescription("Nucleus sampling probability mass.");

    public static final ConfigOption<Long> SEED = ConfigOptions.key("loupe.caption.seed")
            .longType().noDefaultValue().withDescription("Seed of each image's sampling stream.");

    public static final ConfigOption<String> EARLY_STOPPING = ConfigOptions.key("loupe.caption.early-stopping")
            .stringType().noDefaultValue().withDescription("Beam search stop rule: true, false or never.");

    public static final ConfigOption<Integer> FILES_PER_SPLIT = ConfigOptions.key("loupe.caption.files-per-split")
            .intType().defaultValue(64)
            .withDescription("Loose image files per source split (the unit subtasks take work in); each archive "
                    + "is one split.");

    public static final ConfigOption<Integer> THUMBNAIL_SIZE = ConfigOptions.key("loupe.caption.thumbnail-size")
            .intType().defaultValue(192)
            .withDescription("Longest side in pixels of the contact sheet's JPEG thumbnails (thumbs/).");

    public static final ConfigOption<Integer> PAGE_SIZE = ConfigOptions.key("loupe.caption.page-size")
            .intType().defaultValue(200)
            .withDescription("Tiles per contact sheet page (index.html, page-2.html, ...).");

    public static final ConfigOption<Integer> SORT_RUN_ROWS = ConfigOptions.key("loupe.caption.sort-run-rows")
            .intType().defaultValue(SortedRuns.DEFAULT_RUN_ROWS)
            .withDescription("Rows (about 1 KB each) the final sort into input order holds in memory; more are "
                    + "spilled as sorted runs to the output's working folder and merged.");

    public static final ConfigOption<Duration> PROGRESS_INTERVAL = ConfigOptions.key("loupe.caption.progress-interval")
            .durationType().noDefaultValue()
            .withDescription("Time between progress reports (default: 1 s rewritten in place on a terminal, 10 s "
                    + "lines otherwise).");
}
