package dev.loupe.model.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.GeneratedSequence;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.TextGenerator;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A package's language model generating greedily (42 prefix positions, 20 new tokens with min = max, as
 * {@code loupe bench}) for one batch, in one process under several settings of the runner's side-by-side parts,
 * rounds alternating so that every setting sees the same machine load: each setting is {@code PREFILL:STEP}, the
 * values of {@code loupe.ort.prefill-parts} and {@code loupe.ort.step-parts} ("-" leaves a property unset, i.e. the
 * default). Prints wall and process CPU time per batch (median and minimum) and checks that every setting generated
 * the same tokens.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.StepPartsTiming PACKAGE THREADS BATCH ROUNDS SETTING...}
 * (e.g. {@code 1:1 -:1 -:-})
 */
public final class StepPartsTiming {
    private static final int PREFIX = 42;
    private static final int NEW_TOKENS = 20;
    private static final String[] PROPERTIES = {"loupe.ort.prefill-parts", "loupe.ort.step-parts"};

    private StepPartsTiming() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: StepPartsTiming PACKAGE THREADS BATCH ROUNDS SETTING...");
            System.exit(2);
        }
        Path pkg = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        String[][] settings = Arrays.stream(args, 4, args.length).map(s -> s.split(":", 2)).toArray(String[][]::new);
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(pkg.resolve("manifest.json").toFile());
        DecoderConfig config = DecoderGraphs.config(json.readTree(pkg.resolve("config.json").toFile())
                .path("text_config"));
        int[] eos = json.convertValue(manifest.path("special_tokens").path("eos"), int[].class);
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (LanguageModelRunner runner = LanguageModelRunner.open(pkg.resolve("embed.onnx"),
                pkg.resolve("decoder.onnx"), config, RuntimeOptions.cpu(threads))) {
            TextGenerator generator = new TextGenerator(runner, manifest.path("special_tokens").path("pad").asLong());
            List<float[][]> inputs = TokenChoiceBenchmark.randomPrefixes(batch, PREFIX, config.hiddenSize());
            List<int[]> context = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                context.add(new int[0]);
            }
            GenerationConfig greedy = GenerationConfig.greedy(NEW_TOKENS).withMinNewTokens(NEW_TOKENS);
            double[][] wall = new double[settings.length][rounds];
            double[][] cpu = new double[settings.length][rounds];
            List<List<List<GeneratedSequence>>> last = new ArrayList<>();
            for (int s = 0; s < settings.length; s++) {
                last.add(null);
            }
            for (int round = -2; round < rounds; round++) { // two warm-up rounds
                for (int i = 0; i < settings.length; i++) {
                    int s = (round & 1) == 0 ? i : settings.length - 1 - i; // alternate which goes first
                    apply(settings[s]);
                    long cpu0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    last.set(s, TokenChoiceBenchmark.generate(generator, inputs, context, greedy, eos));
                    long t1 = System.nanoTime();
                    long cpu1 = os.getProcessCpuTime();
                    if (round >= 0) {
                        wall[s][round] = (t1 - t0) / 1e6;
                        cpu[s][round] = (cpu1 - cpu0) / 1e6;
                    }
                }
            }
            for (int s = 0; s < settings.length; s++) {
                for (int b = 0; b < batch; b++) {
                    if (!Arrays.equals(last.get(0).get(b).get(0).tokenIds(), last.get(s).get(b).get(0).tokenIds())) {
                        throw new IllegalStateException("row " + b + " generated different tokens under "
                                + String.join(":", settings[s]));
                    }
                }
                double[] w = wall[s].clone();
                double[] c = cpu[s].clone();
                Arrays.sort(w);
                Arrays.sort(c);
                System.out.printf(Locale.ROOT, "%s: batch %d, %d threads, prefill-parts:step-parts %s: wall %.1f ms "
                                + "per batch median (min %.1f, %.2fx the first setting), process CPU %.0f ms median "
                                + "(min %.0f)%n", pkg, batch, threads, String.join(":", settings[s]), w[rounds / 2],
                        w[0], EncoderGraphTiming.median(wall[0]) / w[rounds / 2], c[rounds / 2], c[0]);
            }
        }
    }

    private static void apply(String[] setting) {
        for (int p = 0; p < PROPERTIES.length; p++) {
            String v = p < setting.length ? setting[p] : "-";
            if (v.equals("-")) {
                System.clearProperty(PROPERTIES[p]);
            } else {
                System.setProperty(PROPERTIES[p], v);
            }
        }
    }
}
