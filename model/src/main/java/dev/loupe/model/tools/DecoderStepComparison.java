package dev.loupe.model.tools;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.DecoderConfig;
import dev.loupe.model.llm.DecoderGraphs;
import dev.loupe.model.llm.DecodingState;
import dev.loupe.model.llm.LanguageModelRunner;
import dev.loupe.model.llm.PrefixStepDecoder;
import dev.loupe.model.llm.StepDecoder;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The language models of several packages of one checkpoint (e.g. the plain and the fused decoder graph) compared
 * through the runtime's own decoding path ({@link PrefixStepDecoder}: prefill, then one token per row per step, the
 * KV cache handled as generation handles it), with their runs alternating round by round so that other load on the
 * host falls on each alike. Prints per package the median prefill time, the median time of a decoding step and the
 * process CPU time per step, and each one's ratio to the first package.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.DecoderStepComparison THREADS BATCH PREFIX STEPS ROUNDS PKG...}
 */
public final class DecoderStepComparison {
    private DecoderStepComparison() {}

    /** One package's (or decoder's) medians over the rounds. */
    public record Figures(String pkg, String decoder, double prefillMs, double stepMs, double cpuStepMs) {}

    public static List<Figures> compare(List<Path> packages, RuntimeOptions options, int batch, int prefix,
                                        int steps, int rounds) throws IOException, OrtException {
        List<StepDecoder> decoders = new ArrayList<>();
        List<String> kinds = new ArrayList<>();
        try {
            for (Path pkg : packages) {
                Manifest m = Manifest.read(pkg);
                DecoderConfig config = DecoderGraphs.config(m.config().path("text_config"));
                decoders.add(new PrefixStepDecoder(LanguageModelRunner.open(m.graph(pkg, "embed"),
                        m.graph(pkg, "decoder"), config, options), 0));
                kinds.add(m.dimensions().path("llm_decoder").asText("plain"));
            }
            return compare(decoders, packages.stream().map(Path::toString).toList(), kinds, batch, prefix, steps,
                    rounds);
        } finally {
            for (StepDecoder d : decoders) {
                d.close();
            }
        }
    }

    /**
     * Times {@code decoders} (the caller closes them) alternating round by round: per round each one's start on
     * {@code batch} random inputs of {@code prefix} positions (a prefill; for an encoder-decoder model the encoder
     * and the first decoder step), then {@code steps} steps of one token per row.
     */
    public static List<Figures> compare(List<? extends StepDecoder> decoders, List<String> names, List<String> kinds,
                                        int batch, int prefix, int steps, int rounds) throws OrtException {
        int hidden = decoders.get(0).inputWidth();
        List<float[][]> inputs = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(11);
        for (int r = 0; r < batch; r++) {
            float[][] rows = new float[prefix][hidden];
            for (float[] row : rows) {
                for (int i = 0; i < hidden; i++) {
                    row[i] = (float) random.nextGaussian() * 0.05f;
                }
            }
            inputs.add(rows);
        }
        int n = decoders.size();
        double[][] prefill = new double[n][rounds];
        double[][] step = new double[n][rounds];
        double[][] cpu = new double[n][rounds];
        int[] all = new int[batch];
        Arrays.setAll(all, i -> i);
        long[] tokens = new long[batch];
        Arrays.fill(tokens, 5);
        for (int round = -1; round < rounds; round++) { // round -1 warms up
            for (int p = 0; p < n; p++) {
                long t0 = System.nanoTime();
                DecodingState state = decoders.get(p).start(inputs);
                long t1 = System.nanoTime();
                long c1 = ProcessResources.processCpuNanos();
                try {
                    for (int s = 0; s < steps; s++) {
                        state = state.next(all, tokens, 1);
                    }
                } finally {
                    state.close();
                }
                long t2 = System.nanoTime();
                long c2 = ProcessResources.processCpuNanos();
                if (round >= 0) {
                    prefill[p][round] = (t1 - t0) / 1e6;
                    step[p][round] = (t2 - t1) / 1e6 / steps;
                    cpu[p][round] = (c2 - c1) / 1e6 / steps;
                }
            }
        }
        List<Figures> out = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            out.add(new Figures(names.get(p), kinds.get(p), median(prefill[p]), median(step[p]), median(cpu[p])));
        }
        return out;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: DecoderStepComparison THREADS BATCH PREFIX STEPS ROUNDS PKG...");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int prefix = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        List<Path> packages = Arrays.stream(args, 5, args.length).map(Path::of).toList();
        List<Figures> figures = compare(packages, RuntimeOptions.cpu(threads), batch, prefix, steps, rounds);
        System.out.printf(Locale.ROOT, "batch %d, prefix %d, %d steps, %d rounds, %d threads%n", batch, prefix, steps,
                rounds, threads);
        print(figures);
    }

    /** One line per decoder: its medians and their ratios to the first one's. */
    public static void print(List<Figures> figures) {
        Figures first = figures.get(0);
        for (Figures f : figures) {
            System.out.printf(Locale.ROOT, "%-8s prefill %8.1f ms (%.2fx)  step %7.2f ms (%.2fx)  CPU/step %7.2f ms "
                            + "(%.2fx)  %s%n", f.decoder(), f.prefillMs(), f.prefillMs() / first.prefillMs(),
                    f.stepMs(), f.stepMs() / first.stepMs(), f.cpuStepMs(), f.cpuStepMs() / first.cpuStepMs(),
                    f.pkg());
        }
    }
}
