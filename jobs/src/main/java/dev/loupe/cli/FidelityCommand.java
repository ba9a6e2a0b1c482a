package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Models;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.files.FileTrees;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.tools.PackageFidelity;
import dev.loupe.model.tools.RandomImages;
import dev.loupe.model.tools.RandomInstructBlipCheckpoint;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe bench fidelity}: how closely a quantized package follows the fp32 package of the same checkpoint
 * ({@link PackageFidelity}): vision-feature cosine similarity, identical greedy captions, and the mean |log-prob
 * difference| per token teacher-forced on the fp32 greedy continuation.
 */
@Command(name = "fidelity", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare a package (e.g. int8) with the fp32 package of the same checkpoint on the same "
                + "images: vision-feature and Q-Former-output cosine similarity, identical greedy captions, and the "
                + "mean |log-prob difference| per token teacher-forced on the reference's greedy continuation.")
public final class FidelityCommand implements Callable<Integer>, RuntimeCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--reference", paramLabel = "PKG", description = "The reference package (fp32).")
    Path reference;

    @Option(names = "--candidate", paramLabel = "PKG", description = "The package to compare with it.")
    Path candidate;

    @Option(names = "--random-checkpoint", description = "Instead: generate the benchmark checkpoint of "
            + "'loupe bench --random-checkpoint' (default dimensions), convert it at fp32 and at --dtype, compare.")
    boolean randomCheckpoint;

    @Option(names = "--dtype", defaultValue = "int8",
            description = "With --random-checkpoint: the candidate's dtype. Default ${DEFAULT-VALUE}.")
    String dtype;

    @Option(names = "--image", paramLabel = "FILE", description = "Images to compare on (repeatable); default: "
            + "--images generated photo-like images.")
    List<Path> imageFiles;

    @Option(names = "--images", defaultValue = "8", description = "Generated images when no --image. "
            + "Default ${DEFAULT-VALUE}.")
    int generatedImages;

    @Option(names = "--max-new-tokens", defaultValue = "20", description = "Greedy tokens per image. "
            + "Default ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--prompt", description = "Prompt (default: the caption template).")
    String prompt;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights and images.")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public CommandLine.Model.CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        if (randomCheckpoint == (reference != null || candidate != null)
                || (!randomCheckpoint && (reference == null || candidate == null))) {
            throw usage("give --reference PKG and --candidate PKG, or --random-checkpoint");
        }
        if (maxNewTokens < 1 || generatedImages < 1) {
            throw usage("--max-new-tokens and --images must be >= 1");
        }
        Precision precision;
        try {
            precision = Precision.parse(dtype);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        RuntimeOptions runtime = runtimeOptions();
        PrintStream err = System.err;
        Path temp = null;
        try {
            Path ref = reference;
            Path cand = candidate;
            if (randomCheckpoint) {
                temp = Files.createTempDirectory("loupe-fidelity-");
                Path ckpt = temp.resolve("checkpoint");
                long params = RandomInstructBlipCheckpoint.write(ckpt, RandomInstructBlipCheckpoint.Dims.benchmark(),
                        seed);
                err.printf(Locale.ROOT, "fidelity: random checkpoint with %.1f M parameters%n", params / 1e6);
                ref = temp.resolve("fp32");
                cand = temp.resolve(precision.label());
                Models.convert(ckpt, ref, Precision.FP32);
                Models.convert(ckpt, cand, precision);
            }
            ImagePreprocessor preprocessor = Models.open(ref, runtime).createPreprocessor();
            List<ImageTensor> images = new ArrayList<>();
            if (imageFiles != null && !imageFiles.isEmpty()) {
                for (Path f : imageFiles) {
                    images.add(preprocessor.preprocess(Files.readAllBytes(f)));
                }
            } else {
                for (int i = 0; i < generatedImages; i++) {
                    images.add(preprocessor.preprocess(RandomImages.png(seed + i, 640, 480)));
                }
            }
            PackageFidelity.Report r = PackageFidelity.compare(ref, cand, images,
                    prompt != null ? prompt : Prompts.CAPTION_TEMPLATE, maxNewTokens, runtime);
            if (json) {
                ObjectNode o = JSON.createObjectNode();
                o.put("reference", ref.toString()).put("candidate", cand.toString())
                        .put("reference_dtype", r.referenceDtype()).put("candidate_dtype", r.candidateDtype())
                        .put("images", r.images()).put("tokens", r.tokens())
                        .put("mean_abs_logprob_diff", r.meanAbsLogProbDiff())
                        .put("max_abs_logprob_diff", r.maxAbsLogProbDiff())
                        .put("identical_captions", r.identicalCaptions())
                        .put("leading_agreement", r.leadingAgreement())
                        .put("vision_cosine_mean", r.visionCosineMean()).put("vision_cosine_min", r.visionCosineMin())
                        .put("qformer_cosine_mean", r.prefixCosineMean()).put("qformer_cosine_min", r.prefixCosineMin());
                System.out.println(JSON.writeValueAsString(o));
            } else {
                PrintStream out = System.out;
                out.printf(Locale.ROOT, "%s vs %s, %d images, %d teacher-forced tokens%n", r.candidateDtype(),
                        r.referenceDtype(), r.images(), r.tokens());
                out.printf(Locale.ROOT, "| mean abs log-prob diff (nats/token) | %.4f |%n", r.meanAbsLogProbDiff());
                out.printf(Locale.ROOT, "| max abs log-prob diff | %.4f |%n", r.maxAbsLogProbDiff());
                out.printf(Locale.ROOT, "| identical greedy captions | %d / %d |%n", r.identicalCaptions(), r.images());
                out.printf(Locale.ROOT, "| greedy tokens agreeing before the first difference | %.1f %% |%n",
                        100 * r.leadingAgreement());
                out.printf(Locale.ROOT, "| vision feature cosine (mean / min) | %.6f / %.6f |%n", r.visionCosineMean(),
                        r.visionCosineMin());
                out.printf(Locale.ROOT, "| Q-Former output cosine (mean / min) | %.6f / %.6f |%n",
                        r.prefixCosineMean(), r.prefixCosineMin());
            }
            return 0;
        } finally {
            if (temp != null) {
                FileTrees.deleteRecursively(temp);
            }
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
