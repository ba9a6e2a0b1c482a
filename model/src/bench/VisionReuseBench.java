/*
 * The cost of several prompts per image (what `loupe enrich` with a caption and three questions sends): each image
 * with the caption template and three questions, through the annotator in batches, on the benchmark-sized random
 * InstructBLIP-Vicuna (docs/benchmarks.md). Every iteration uses new images (preprocessed outside the timing), so
 * the figures are those of new images, with or without reuse of their vision features. Only the model's public API
 * is used, so the same file runs against any build of the model module, e.g. before and after a change:
 *
 *   java -cp "model/target/loupe-model-0.1.0-SNAPSHOT.jar:LIBS/*" model/src/bench/VisionReuseBench.java \
 *       WORK_DIR IMAGES_PER_ITERATION BATCH_SIZE NEW_TOKENS ITERATIONS THREADS
 *
 * where LIBS holds the model module's dependencies (jobs/target/lib without the loupe-* jars). WORK_DIR keeps the
 * random checkpoint and its package between runs.
 */

import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.Prompts;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.Task;
import dev.loupe.model.tools.RandomImages;
import dev.loupe.model.tools.RandomInstructBlipCheckpoint;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

public final class VisionReuseBench {
    private static final List<String> PROMPTS = List.of(Prompts.CAPTION_TEMPLATE, Prompts.question("What color is it?"),
            Prompts.question("Is there a person?"), Prompts.question("How many animals are there?"));

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int images = Integer.parseInt(args[1]);
        int batchSize = Integer.parseInt(args[2]);
        int tokens = Integer.parseInt(args[3]);
        int iterations = Integer.parseInt(args[4]);
        int threads = Integer.parseInt(args[5]);
        Path pkg = work.resolve("package");
        if (!Files.exists(pkg.resolve("manifest.json"))) {
            Path checkpoint = work.resolve("checkpoint");
            RandomInstructBlipCheckpoint.write(checkpoint, RandomInstructBlipCheckpoint.Dims.benchmark(), 42);
            Models.convert(checkpoint, pkg);
        }
        AnnotatorFactory factory = Models.open(pkg, RuntimeOptions.cpu(threads));
        ImagePreprocessor preprocessor = factory.createPreprocessor();
        GenerationConfig generation = GenerationConfig.greedy(tokens).withMinNewTokens(tokens);
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (BatchAnnotator annotator = factory.createAnnotator()) {
            double wallSum = 0;
            double cpuSum = 0;
            for (int it = 0; it <= iterations; it++) {   // iteration 0 warms up
                List<AnnotationInput> rows = new ArrayList<>();
                for (int i = 0; i < images; i++) {
                    byte[] png = RandomImages.png(1000L * (it + 1) + i, 640, 480);
                    for (int p = 0; p < PROMPTS.size(); p++) {
                        rows.add(new AnnotationInput(it + "-" + i + "-" + p, preprocessor.preprocess(png),
                                PROMPTS.get(p), p == 0 ? Task.CAPTION : Task.VQA, List.of(), generation));
                    }
                }
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                for (int from = 0; from < rows.size(); from += batchSize) {
                    for (AnnotationOutcome o : annotator.annotate(rows.subList(from, Math.min(rows.size(), from + batchSize)))) {
                        if (!o.isSuccess() || o.annotation().tokenIds().length != tokens) {
                            throw new IllegalStateException("a row failed or generated the wrong count: " + o);
                        }
                    }
                }
                double wall = (System.nanoTime() - t0) / 1e9;
                double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
                if (it > 0) {
                    wallSum += wall;
                    cpuSum += cpu;
                }
            }
            System.out.printf(Locale.ROOT, "images %d x %d prompts, batch %d, %d tokens, %d threads: "
                            + "%.1f ms/image wall, %.1f ms/image CPU (mean of %d iterations)%n", images, PROMPTS.size(),
                    batchSize, tokens, threads, wallSum / iterations / images * 1e3, cpuSum / iterations / images * 1e3,
                    iterations);
        }
    }
}
