package dev.loupe.jobs.enrich;

import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * The options of the dataset enrichment job ({@code loupe enrich}), typed, with their defaults. Read and checked
 * once by {@link EnrichSettings#from}. Checkpointing, restarts and parallelism are the jobs' shared options
 * ({@code dev.loupe.config.JobOptions}); fetching and batching the pipeline's ({@code dev.loupe.flink.LoupeOptions}).
 */
public final class EnrichOptions {

    private EnrichOptions() {}

    public static final ConfigOption<String> MODEL = ConfigOptions.key("loupe.enrich.model")
            .stringType().noDefaultValue()
            .withDescription("Model package or Hugging Face checkpoint directory.");

    public static final ConfigOption<String> INPUT = ConfigOptions.key("loupe.enrich.input")
            .stringType().noDefaultValue()
            .withDescription("The table to enrich: a .parquet, .csv or .jsonl file; or WebDataset shards: a folder of "
                    + ".tar shards, a glob pattern ('shards/*.tar') or one .tar.");

    public static final ConfigOption<String> OUTPUT = ConfigOptions.key("loupe.enrich.output")
            .stringType().noDefaultValue()
            .withDescription("The enriched table to write (replaced atomically when the job finishes): the input's "
                    + "rows in input order with the added columns. For WebDataset shards, a folder: the same shards "
                    + "with a member added per sample (loupe.enrich.webdataset-extension).");

    public static final ConfigOption<String> INPUT_FORMAT = ConfigOptions.key("loupe.enrich.input-format")
            .stringType().noDefaultValue()
            .withDescription("csv, jsonl, parquet or webdataset; default: from the input's extension (a folder, a "
                    + ".tar or a glob pattern is webdataset).");

    public static final ConfigOption<String> OUTPUT_FORMAT = ConfigOptions.key("loupe.enrich.output-format")
            .stringType().noDefaultValue()
            .withDescription("csv, jsonl or parquet; default: from the output's extension.");

    public static final ConfigOption<String> IMAGE_COLUMN = ConfigOptions.key("loupe.enrich.image-column")
            .stringType().defaultValue("image")
            .withDescription("The column holding each row's image: a reference (a path relative to the table's "
                    + "folder or absolute, or a file:, http(s): or Flink file-system URI), the image's bytes (a "
                    + "Parquet binary column), or a Hugging Face datasets Image column (struct<bytes, path>: the "
                    + "embedded bytes, else the path). For WebDataset shards, the image member's extension when "
                    + "given (by default a sample's first .jpg, .jpeg, .png or .webp).");

    public static final ConfigOption<Boolean> CAPTION = ConfigOptions.key("loupe.enrich.caption")
            .booleanType().defaultValue(true)
            .withDescription("Add a caption column (the model's caption template).");

    public static final ConfigOption<String> CAPTION_COLUMN = ConfigOptions.key("loupe.enrich.caption-column")
            .stringType().defaultValue("caption")
            .withDescription("Name of the caption column.");

    public static final ConfigOption<List<String>> QUESTIONS = ConfigOptions.key("loupe.enrich.questions")
            .stringType().asList().defaultValues()
            .withDescription("Questions to answer per row, each 'COLUMN=question text' or just the question (its "
                    + "column is then answer_1, answer_2, ... in order).");

    public static final ConfigOption<Map<String, String>> CANDIDATES = ConfigOptions.key("loupe.enrich.candidates")
            .mapType().defaultValue(Map.of())
            .withDescription("Candidate rankings: COLUMN to a '|'-separated list of labels; the column gets the "
                    + "label the model scores highest given the image (e.g. 'kind:cat|dog|bird').");

    public static final ConfigOption<Boolean> CANDIDATE_SCORES = ConfigOptions.key("loupe.enrich.candidate-scores")
            .booleanType().defaultValue(false)
            .withDescription("Also add COLUMN_scores per ranking: every label's log-probability, as JSON.");

    public static final ConfigOption<String> ERROR_COLUMN = ConfigOptions.key("loupe.enrich.error-column")
            .stringType().defaultValue("error")
            .withDescription("Column saying why a row could not be annotated ('CODE: message'); null when it was.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions.key("loupe.enrich.max-new-tokens")
            .intType().noDefaultValue()
            .withDescription("Longest caption or answer in tokens; default: the model's per-task default.");

    public static final ConfigOption<Integer> NUM_BEAMS = ConfigOptions.key("loupe.enrich.num-beams")
            .intType().noDefaultValue()
            .withDescription("Beam search width for captions and answers; default: the model's per-task default.");

    public static final ConfigOption<String> WEBDATASET_EXTENSION =
            ConfigOptions.key("loupe.enrich.webdataset-extension")
            .stringType().defaultValue("loupe.json")
            .withDescription("For WebDataset shards: the extension of the member added to each sample "
                    + "(KEY.loupe.json), a JSON object of the added columns and the error.");

    public static final ConfigOption<String> JOURNAL = ConfigOptions.key("loupe.enrich.journal")
            .stringType().noDefaultValue()
            .withDescription("Folder of the resume journal (annotations committed at each checkpoint); default: "
                    + "OUTPUT.loupe-journal next to the output. A re-run with the same model and prompts skips "
                    + "what it holds.");
}
