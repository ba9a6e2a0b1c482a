package dev.loupe.jobs.caption;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.CommonFlags;
import dev.loupe.config.Flag;
import dev.loupe.config.JobArguments;
import dev.loupe.config.JobOptions;
import dev.loupe.config.OptionCatalogue;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.DemoModel;
import dev.loupe.config.ModelOptions;
import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The caption job's arguments, for {@link CaptionJob#main} and {@code loupe caption} alike: {@code --config},
 * {@code -D} and these flags, each a view of one option of {@link #CATALOGUE}.
 */
public final class CaptionArguments {

    private CaptionArguments() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every option the caption job reads. */
    public static final OptionCatalogue CATALOGUE = OptionCatalogue.of(CaptionOptions.class, LoupeOptions.class)
            .withOptions(JobOptions.class, JobOptions.PARALLELISM, JobOptions.CHECKPOINT_INTERVAL,
                    JobOptions.RESTART_ATTEMPTS, JobOptions.RESTART_DELAY, JobOptions.OBJECT_REUSE)
            .with(ModelOptions.class);

    public static final JobArguments ARGUMENTS = new JobArguments(CATALOGUE, List.of(
            Flag.value("--model", ModelOptions.MODEL).label("DIR")
                    .note("Model package or Hugging Face checkpoint directory (default: a tiny random-weight demo "
                            + "model the project generates; its text is meaningless)."),
            Flag.list("--input", CaptionOptions.INPUTS).label("PATH").mandatory()
                    .note("Folder (recursive), glob pattern ('photos/**/*.jpg'), tar / tar.gz / zip archive, manifest "
                            + "(.csv, .jsonl, .parquet with an image column) or image file (repeatable)."),
            Flag.value("--output", CaptionOptions.OUTPUT).label("OUT_DIR").mandatory(),
            Flag.value("--image-column", CaptionOptions.IMAGE_COLUMN).label("NAME"),
            Flag.value("--input-format", CaptionOptions.INPUT_FORMAT).label("auto|images|webdataset"),
            Flag.value("--prompt", CaptionOptions.PROMPT).label("TEXT"),
            Flag.value("--question", CaptionOptions.QUESTION).label("TEXT"),
            Flag.value("--task", CaptionOptions.TASK).label("TASK")
                    .note("caption, vqa or rank (default: vqa with --question, else caption)."),
            Flag.value("--candidates", CaptionOptions.CANDIDATES).label("JSON_ARRAY")
                    .note("JSON array of candidate answers to score (task rank).")
                    .converting(CaptionArguments::candidateList),
            Flag.value("--num-beams", CaptionOptions.NUM_BEAMS).label("N"),
            Flag.value("--max-new-tokens", CaptionOptions.MAX_NEW_TOKENS).label("N"),
            Flag.value("--min-new-tokens", CaptionOptions.MIN_NEW_TOKENS).label("N"),
            Flag.value("--length-penalty", CaptionOptions.LENGTH_PENALTY).label("X"),
            Flag.value("--early-stopping", CaptionOptions.EARLY_STOPPING).label("RULE"),
            Flag.value("--repetition-penalty", CaptionOptions.REPETITION_PENALTY).label("X"),
            Flag.on("--do-sample", CaptionOptions.DO_SAMPLE),
            Flag.value("--temperature", CaptionOptions.TEMPERATURE).label("X"),
            Flag.value("--top-k", CaptionOptions.TOP_K).label("K"),
            Flag.value("--top-p", CaptionOptions.TOP_P).label("P"),
            Flag.value("--seed", CaptionOptions.SEED).label("N"),
            CommonFlags.BATCH_SIZE,
            CommonFlags.BATCH_DELAY,
            CommonFlags.SCHEDULING,
            CommonFlags.PARALLELISM.note("Parallel readers and model instances."),
            CommonFlags.CHECKPOINT_INTERVAL
                    .note("How often progress is checkpointed, i.e. how much an interrupted run redoes."),
            CommonFlags.RESTART_ATTEMPTS));

    /** The configured model directory, or the demo model (saying so on {@code err}). */
    public static Path modelOrDemo(ReadableConfig config, PrintStream err) {
        var model = ModelOptions.model(config);
        if (model.isPresent()) {
            return model.get();
        }
        try {
            Path demo = DemoModel.ensure(RuntimeOptions.defaults().cachePath());
            err.println("loupe caption: no --model given: using a tiny random-weight demo model (" + demo
                    + "); its text is meaningless. Pass --model DIR for a real checkpoint or package.");
            err.flush();
            return demo;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the demo model: " + e.getMessage(), e);
        }
    }

    /** {@code --candidates}' JSON array as a list option's value. */
    private static String candidateList(String json) {
        JsonNode array;
        try {
            array = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("--candidates is not JSON: " + e.getMessage());
        }
        if (array == null || !array.isArray() || array.isEmpty()) {
            throw new IllegalArgumentException("--candidates must be a non-empty JSON array of strings");
        }
        List<String> list = new ArrayList<>();
        for (JsonNode n : array) {
            if (!n.isTextual()) {
                throw new IllegalArgumentException("--candidates: every element must be a string, got " + n);
            }
            list.add(JobArguments.listElement(n.asText()));
        }
        return String.join(";", list);
    }
}
