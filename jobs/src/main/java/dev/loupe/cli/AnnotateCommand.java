package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.Annotation;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe annotate}: runs the model on local images and prints one JSON object per (image, prompt) pair,
 * in input order (image-major). A pair that fails prints an error object in its place; the exit status is 0
 * only when every pair succeeded. The output format is a DESIGN.md contract.
 */
@Command(name = "annotate", mixinStandardHelpOptions = true,
        description = "Caption, answer or rank candidates for local images; prints JSON lines.")
public final class AnnotateCommand implements Callable<Integer>, RuntimeCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, description = "Model package or Hugging Face checkpoint directory.")
    Path model;

    @Option(names = "--image", required = true, description = "Image file (repeatable).")
    List<Path> images;

    @Option(names = "--prompt", description = "Prompt, used verbatim.")
    String prompt;

    @Option(names = "--question", description = "Question, wrapped in the VQA template \"" + Prompts.VQA_TEMPLATE + "\".")
    String question;

    @Option(names = "--prompts-file", description = "JSON array of prompts; every image is paired with every prompt.")
    Path promptsFile;

    @Option(names = "--task", description = "caption, vqa or rank (default: vqa with --question, else caption).")
    String task;

    @Option(names = "--candidates", description = "JSON array of candidate answers to score (task rank).")
    String candidates;

    // Decoding options: unset ones take the model's default for the task (manifest.json "generation").

    @Option(names = "--num-beams", description = "Beam width (default: the model's, usually 1).")
    Integer numBeams;

    @Option(names = "--num-return-sequences", description = "Sequences returned per pair (default 1).")
    Integer numReturnSequences;

    @Option(names = "--max-new-tokens", description = "Most tokens generated (default: the model's for the task).")
    Integer maxNewTokens;

    @Option(names = "--min-new-tokens", description = "Fewest tokens generated before end-of-sequence (default 0).")
    Integer minNewTokens;

    @Option(names = "--length-penalty", description = "Beam score = sum of log-probs / length ** this (default 1.0).")
    Double lengthPenalty;

    @Option(names = "--early-stopping",
            description = "Beam search stop rule: true, false or never (default false, as Hugging Face).")
    String earlyStopping;

    @Option(names = "--repetition-penalty",
            description = "Penalty on ids already in the prompt or output (default 1.0: none).")
    Double repetitionPenalty;

    @Option(names = "--do-sample", description = "Sample instead of taking the most likely tokens.")
    boolean doSample;

    @Option(names = "--temperature", description = "Sampling temperature (default 1.0).")
    Double temperature;

    @Option(names = "--top-k", description = "Sample among the k most likely tokens; 0 = all (default 50, as Hugging Face).")
    Integer topK;

    @Option(names = "--top-p", description = "Sample from the smallest set of tokens with this total probability (default 1.0).")
    Double topP;

    @Option(names = "--seed", description = "Seed of each pair's sampling stream (default 0).")
    Long seed;

    @Option(names = "--batch-size", defaultValue = "8", description = "Pairs per model batch (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--format", defaultValue = "jsonl", description = "Output format: jsonl.")
    String format;



    private final PrintStream out = System.out;

    /** One (image, prompt) pair: where it goes in the output and what to ask. */
    private record Pair(int imageIndex, String prompt) {}

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        if (!"jsonl".equals(format)) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--format: only jsonl is supported");
        }
        if (batchSize < 1) {
            throw usage("--batch-size must be >= 1");
        }
        List<String> prompts = prompts();
        Task resolvedTask = resolveTask();
        List<String> candidateList = parseCandidates(resolvedTask);
        RuntimeOptions runtime = runtimeOptions();

        AnnotatorFactory factory = Models.open(model, runtime);
        GenerationConfig generation = generation(factory.taskDefaults().forTask(resolvedTask));
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        List<ImageTensor> pixels = new ArrayList<>();
        List<AnnotationException> imageErrors = new ArrayList<>();
        for (Path image : images) {
            try {
                pixels.add(preprocessor.preprocess(readImage(image)));
                imageErrors.add(null);
            } catch (AnnotationException e) {
                pixels.add(null);
                imageErrors.add(e);
            }
        }

        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            for (String p : prompts) {
                pairs.add(new Pair(i, p));
            }
        }
        boolean allOk = true;
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            List<Pair> pending = new ArrayList<>();
            List<AnnotationInput> batch = new ArrayList<>();
            int next = 0;
            for (int pi = 0; pi <= pairs.size(); pi++) {
                boolean flush = pi == pairs.size() || batch.size() == batchSize;
                if (flush && !batch.isEmpty()) {
                    List<AnnotationOutcome> outcomes = annotateIsolated(annotator, batch);
                    for (int k = 0; k < pending.size(); k++) {
                        Pair pair = pending.get(k);
                        // print any preceding pairs whose image failed, to keep input order
                        while (next < pairs.size() && pairs.get(next) != pair) {
                            allOk &= printImageFailure(pairs.get(next), resolvedTask, imageErrors);
                            next++;
                        }
                        allOk &= print(pair, resolvedTask, outcomes.get(k), generation);
                        next++;
                    }
                    pending.clear();
                    batch.clear();
                }
                if (pi == pairs.size()) {
                    break;
                }
                Pair pair = pairs.get(pi);
                if (pixels.get(pair.imageIndex()) != null) {
                    pending.add(pair);
                    batch.add(new AnnotationInput(Integer.toString(pi), pixels.get(pair.imageIndex()), pair.prompt(),
                            resolvedTask, candidateList, generation));
                }
            }
            while (next < pairs.size()) {
                allOk &= printImageFailure(pairs.get(next), resolvedTask, imageErrors);
                next++;
            }
        }
        out.flush();
        return allOk ? 0 : 1;
    }

    /**
     * The batch's outcomes; when the model fails the batch as a whole, each input is run alone so that only the one
     * at fault fails (as the streaming job's inference operator does).
     */
    private static List<AnnotationOutcome> annotateIsolated(BatchAnnotator annotator, List<AnnotationInput> batch) {
        try {
            return annotator.annotate(batch);
        } catch (RuntimeException e) {
            if (batch.size() == 1) {
                return List.of(AnnotationOutcome.failure(ErrorCode.INFERENCE_FAILED, "model failed on this input: " + e));
            }
            List<AnnotationOutcome> outcomes = new ArrayList<>(batch.size());
            for (AnnotationInput input : batch) {
                outcomes.addAll(annotateIsolated(annotator, List.of(input)));
            }
            return outcomes;
        }
    }

    /** The model's defaults for the task with the options given on the command line applied. */
    private GenerationConfig generation(GenerationConfig base) {
        try {
            GenerationConfig.Builder g = base.toBuilder()   // checked once, in build(): options combine in any order
                    .maxNewTokens(maxNewTokens != null ? maxNewTokens : base.maxNewTokens())
                    .minNewTokens(minNewTokens != null ? minNewTokens : base.minNewTokens())
                    .numBeams(numBeams != null ? numBeams : base.numBeams())
                    .numReturnSequences(numReturnSequences != null ? numReturnSequences : base.numReturnSequences())
                    .lengthPenalty(lengthPenalty != null ? lengthPenalty : base.lengthPenalty())
                    .repetitionPenalty(repetitionPenalty != null ? repetitionPenalty : base.repetitionPenalty())
                    .doSample(doSample || base.doSample())
                    .temperature(temperature != null ? temperature : base.temperature())
                    .topK(topK != null ? topK : base.topK())
                    .topP(topP != null ? topP : base.topP())
                    .seed(seed != null ? seed : base.seed());
            if (earlyStopping != null) {
                g.earlyStopping(GenerationConfig.EarlyStopping.parse(earlyStopping));
            }
            return g.build();
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private List<String> prompts() throws IOException {
        int given = (prompt != null ? 1 : 0) + (question != null ? 1 : 0) + (promptsFile != null ? 1 : 0);
        if (given > 1) {
            throw usage("give at most one of --prompt, --question, --prompts-file");
        }
        if (promptsFile != null) {
            JsonNode arr = JSON.readTree(promptsFile.toFile());
            if (!arr.isArray() || arr.isEmpty()) {
                throw usage("--prompts-file must hold a non-empty JSON array of strings");
            }
            List<String> list = new ArrayList<>();
            for (JsonNode n : arr) {
                if (!n.isTextual()) {
                    throw usage("--prompts-file: every element must be a string, got " + n);
                }
                list.add(n.asText());
            }
            return list;
        }
        if (prompt != null) {
            return List.of(prompt);
        }
        if (question != null) {
            return List.of(Prompts.question(question));
        }
        return List.of(Prompts.CAPTION_TEMPLATE);
    }

    private Task resolveTask() {
        if (task == null) {
            return question != null ? Task.VQA : Task.CAPTION;
        }
        try {
            return Task.fromWireName(task);
        } catch (IllegalArgumentException e) {
            throw usage("--task must be caption, vqa or rank, got '" + task + "'");
        }
    }

    private List<String> parseCandidates(Task t) throws IOException {
        if (candidates == null) {
            if (t == Task.RANK) {
                throw usage("--task rank needs --candidates '[\"a\", \"b\"]'");
            }
            return List.of();
        }
        if (t != Task.RANK) {
            throw usage("--candidates is only used with --task rank");
        }
        JsonNode arr = JSON.readTree(candidates);
        if (!arr.isArray() || arr.isEmpty()) {
            throw usage("--candidates must be a non-empty JSON array of strings");
        }
        List<String> list = new ArrayList<>();
        for (JsonNode n : arr) {
            if (!n.isTextual() || n.asText().isEmpty()) {
                throw usage("--candidates: every element must be a non-empty string, got " + n);
            }
            list.add(n.asText());
        }
        return list;
    }

    private static byte[] readImage(Path image) throws AnnotationException {
        try {
            return Files.readAllBytes(image);
        } catch (NoSuchFileException e) {
            throw new AnnotationException(ErrorCode.IMAGE_NOT_FOUND, "no such file: " + image);
        } catch (IOException e) {
            throw new AnnotationException(ErrorCode.FETCH_FAILED, "cannot read " + image + ": " + e.getMessage(), e);
        }
    }

    private boolean printImageFailure(Pair pair, Task t, List<AnnotationException> imageErrors) {
        AnnotationException e = imageErrors.get(pair.imageIndex());
        printError(pair, e.code(), e.getMessage());
        return false;
    }

    private boolean print(Pair pair, Task t, AnnotationOutcome outcome, GenerationConfig generation) {
        if (!outcome.isSuccess()) {
            printError(pair, outcome.errorCode(), outcome.errorMessage());
            return false;
        }
        Annotation a = outcome.annotation();
        ObjectNode o = JSON.createObjectNode();
        o.put("image", images.get(pair.imageIndex()).toString());
        o.put("prompt", pair.prompt());
        o.put("task", t.wireName());
        ArrayNode ids = o.putArray("token_ids");
        for (int id : a.tokenIds()) {
            ids.add(id);
        }
        o.put("text", a.text());
        o.put("score", a.score());
        if (generation.numReturnSequences() > 1) {
            ArrayNode beams = o.putArray("beams");
            for (Annotation.Sequence s : a.sequences()) {
                ObjectNode b = beams.addObject();
                ArrayNode bids = b.putArray("token_ids");
                for (int id : s.tokenIds()) {
                    bids.add(id);
                }
                b.put("text", s.text());
                b.put("score", s.score());
            }
        }
        if (t == Task.RANK) {
            ArrayNode cs = o.putArray("candidates");
            for (Annotation.CandidateScore c : a.candidates()) {
                cs.addObject().put("text", c.text()).put("score", c.score());
            }
        }
        out.println(o);
        return true;
    }

    private void printError(Pair pair, ErrorCode code, String message) {
        ObjectNode o = JSON.createObjectNode();
        o.put("image", images.get(pair.imageIndex()).toString());
        o.put("prompt", pair.prompt());
        o.putObject("error").put("code", code.name()).put("message", message);
        out.println(o);
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
