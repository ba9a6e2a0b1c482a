package dev.loupe.jobs.enrich;

import dev.loupe.config.CommonFlags;
import dev.loupe.config.Flag;
import dev.loupe.config.JobArguments;
import dev.loupe.config.JobOptions;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.config.ModelOptions;
import java.util.List;

/**
 * The enrich job's arguments, for {@link EnrichJob#main} and {@code loupe enrich} alike: {@code --config},
 * {@code -D} and these flags, each a view of one option of {@link #CATALOGUE}.
 */
public final class EnrichArguments {

    private EnrichArguments() {}

    /** Every option the enrich job reads. */
    public static final OptionCatalogue CATALOGUE = OptionCatalogue.of(EnrichOptions.class, LoupeOptions.class)
            .withOptions(JobOptions.class, JobOptions.PARALLELISM, JobOptions.CHECKPOINT_INTERVAL,
                    JobOptions.RESTART_ATTEMPTS, JobOptions.RESTART_DELAY, JobOptions.OBJECT_REUSE)
            .withOptions(ModelOptions.class, ModelOptions.DEVICE, ModelOptions.THREADS, ModelOptions.RUNNER,
                    ModelOptions.CACHE_DIR,
                    ModelOptions.VISION_CACHE_BYTES, ModelOptions.FAST_JPEG_DOWNSCALE);

    public static final JobArguments ARGUMENTS = new JobArguments(CATALOGUE, List.of(
            Flag.value("--model", EnrichOptions.MODEL).label("DIR").mandatory(),
            Flag.value("--input", EnrichOptions.INPUT).label("TABLE").mandatory(),
            Flag.value("--output", EnrichOptions.OUTPUT).label("TABLE").mandatory(),
            Flag.value("--image-column", EnrichOptions.IMAGE_COLUMN).label("NAME")
                    .note("For WebDataset shards: the image member's extension (default: a sample's first .jpg, "
                            + ".jpeg, .png or .webp)."),
            Flag.list("--question", EnrichOptions.QUESTIONS).label("[COLUMN=]TEXT")
                    .note("A question to answer per row (repeatable), e.g. answer_color=\"What color is it?\"; "
                            + "without COLUMN= the column is answer_1, answer_2, ..."),
            Flag.map("--candidates", EnrichOptions.CANDIDATES).label("COLUMN=A,B,...")
                    .note("Rank candidate labels per row (repeatable): COLUMN gets the label the model scores highest.")
                    .converting(labels -> String.join("|", labels.split(","))),
            Flag.on("--candidate-scores", EnrichOptions.CANDIDATE_SCORES),
            Flag.off("--no-caption", EnrichOptions.CAPTION).note("Do not add a caption column."),
            Flag.value("--caption-column", EnrichOptions.CAPTION_COLUMN).label("NAME"),
            Flag.value("--error-column", EnrichOptions.ERROR_COLUMN).label("NAME"),
            Flag.value("--input-format", EnrichOptions.INPUT_FORMAT).label("csv|jsonl|parquet|webdataset"),
            Flag.value("--output-format", EnrichOptions.OUTPUT_FORMAT).label("csv|jsonl|parquet"),
            Flag.value("--journal", EnrichOptions.JOURNAL).label("DIR"),
            Flag.value("--webdataset-extension", EnrichOptions.WEBDATASET_EXTENSION).label("EXT"),
            Flag.value("--max-new-tokens", EnrichOptions.MAX_NEW_TOKENS).label("N"),
            Flag.value("--num-beams", EnrichOptions.NUM_BEAMS).label("N"),
            CommonFlags.ALLOWED_ROOT.note("More folders images may be read from (repeatable); the table's folder "
                    + "always is."),
            CommonFlags.ALLOWED_HOST.note("Internal hosts http(s) images may come from (repeatable); by default "
                    + "internal addresses are refused."),
            CommonFlags.BATCH_SIZE,
            CommonFlags.SCHEDULING,
            CommonFlags.CHECKPOINT_INTERVAL
                    .note("How often the journal is committed (what an interruption can lose)."),
            CommonFlags.PARALLELISM,
            CommonFlags.RESTART_ATTEMPTS));
}
