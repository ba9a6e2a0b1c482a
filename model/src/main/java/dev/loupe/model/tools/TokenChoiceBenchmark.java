package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.TextGenerator;
import dev.loupe.model.llm.TokenChoiceHead;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Greedy generation (min = max new tokens, as {@code loupe bench}) of the same rows through the language model of
 * two decoder-only packages converted from one checkpoint, one written before the {@link TokenChoiceHead} tail
 * (its steps hand the logits to Java) and one with it (its steps hand each row's top choices), runs alternating in
 * one process so that both see the same machine load. Prints wall and process CPU time per run (median and
 * minimum) and the bytes a step hands to Java. The image side is left out: it is the same in both.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.TokenChoiceBenchmark OLD_PKG NEW_PKG THREADS BATCH RUNS}
 */
public final class TokenChoiceBenchmark {
    private static final int PREFIX = 42;
    private static final int NEW_TOKENS = 20;

    private TokenChoiceBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: TokenChoiceBenchmark OLD_PKG NEW_PKG THREADS BATCH RUNS");
            System.exit(2);
        }
        Path[] packages = {Path.of(args[0]), Path.of(args[1])};
        int threads = Integer.parseInt(args[2]);
        int batch = Integer.parseInt(args[3]);
        int runs = Integer.parseInt(args[4]);
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(packages[1].resolve("manifest.json").toFile());
        DecoderConfig config = DecoderGraphs.config(json.readTree(packages[1].resolve("config.json").toFile())
                .path("text_config"));
        long pad = manifest.path("special_tokens").path("pad").asLong();
        int[] eos = json.convertValue(manifest.path("special_tokens").path("eos"), int[].class);

        LanguageModelRunner[] runners = new LanguageModelRunner[2];
        TextGenerator[] generators = new TextGenerator[2];
        for (int v = 0; v < 2; v++) {
            runners[v] = LanguageModelRunner.open(packages[v].resolve("embed.onnx"),
                    packages[v].resolve("decoder.onnx"), config, RuntimeOptions.cpu(threads));
            generators[v] = new TextGenerator(runners[v], pad);
        }
        if (runners[0].offersChoices() || !runners[1].offersChoices()) {
            throw new IllegalArgumentException("the first package must be one without the token-choice tail, "
                    + "the second one with it");
        }
        List<float[][]> inputs = randomPrefixes(batch, PREFIX, config.hiddenSize());
        List<int[]> context = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            context.add(new int[0]);
        }
        GenerationConfig greedy = GenerationConfig.greedy(NEW_TOKENS).withMinNewTokens(NEW_TOKENS);
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[][] wall = new double[2][runs];
        double[][] cpu = new double[2][runs];
        List<List<List<GeneratedSequence>>> last = new ArrayList<>(List.of(List.of(), List.of()));
        for (int run = -2; run < runs; run++) { // two warm-up rounds
            for (int i = 0; i < 2; i++) {
                int v = (run & 1) == 0 ? i : 1 - i; // alternate which goes first
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                last.set(v, generate(generators[v], inputs, context, greedy, eos));
                long t1 = System.nanoTime();
                long cpu1 = os.getProcessCpuTime();
                if (run >= 0) {
                    wall[v][run] = (t1 - t0) / 1e6;
                    cpu[v][run] = (cpu1 - cpu0) / 1e6;
                }
            }
        }
        for (int b = 0; b < batch; b++) {
            if (!Arrays.equals(last.get(0).get(b).get(0).tokenIds(), last.get(1).get(b).get(0).tokenIds())) {
                throw new IllegalStateException("row " + b + " generated different tokens on the two packages");
            }
        }
        String[] names = {"logits (package without the tail)", "choices (package with the tail)"};
        long[] bytes = {(long) batch * config.vocabSize() * Float.BYTES,
                (long) batch * (1 + eos.length) * (Long.BYTES + Float.BYTES)};
        for (int v = 0; v < 2; v++) {
            double[] w = wall[v].clone();
            double[] c = cpu[v].clone();
            Arrays.sort(w);
            Arrays.sort(c);
            System.out.printf(Locale.ROOT, "batch %d, %d threads, %s: wall %.1f ms/run median (min %.1f), "
                            + "process CPU %.0f ms/run median (min %.0f), %d bytes to Java per step%n", batch,
                    threads, names[v], w[runs / 2], w[0], c[runs / 2], c[0], bytes[v]);
        }
        for (LanguageModelRunner r : runners) {
            r.close();
        }
    }

    /** {@code batch} prefixes of {@code length} random embeddings (N(0, 0.02^2), a fixed seed), as generation takes. */
    static List<float[][]> randomPrefixes(int batch, int length, int hidden) {
        SplittableRandom random = new SplittableRandom(7);
        List<float[][]> inputs = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            float[][] rows = new float[length][hidden];
            for (float[] row : rows) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = (float) (random.nextGaussian() * 0.02);
                }
            }
            inputs.add(rows);
        }
        return inputs;
    }

    static List<List<GeneratedSequence>> generate(TextGenerator generator, List<float[][]> inputs,
                                                          List<int[]> context, GenerationConfig config, int[] eos)
            throws AnnotationException {
        return generator.generate(inputs, context, config, new long[inputs.size()], eos);
    }
}
