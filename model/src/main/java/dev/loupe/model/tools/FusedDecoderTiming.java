package dev.loupe.model.tools;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.FusedLlamaGraphs;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.llm.TokenChoiceHead;
import dev.loupe.model.onnx.OrtSessions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The fused LLaMA decoder graph ({@link FusedLlamaGraphs}) of several packages run alone, side by side: each round
 * runs every package's prefill ({@code batch} rows of {@code prefix} positions from an empty cache) and then one
 * greedy decoding step after it (one position per row, the token-choice outputs when the graph has them), on the
 * same fixed random inputs, so packages whose decoders differ only in their MatMul kernels (int8 schemes) are
 * compared under the same machine load. Reports the median wall time and the mean process CPU time of each (the pool
 * does not spin, so CPU time is the work done and the steadier figure on a shared machine).
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.FusedDecoderTiming THREADS BATCH PREFIX ROUNDS PACKAGE...}
 */
public final class FusedDecoderTiming {
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private FusedDecoderTiming() {}

    /** Milliseconds of one prefill run and one step run: median wall, mean process CPU. */
    public record Timing(Path pkg, double prefillMs, double stepMs, double prefillCpuMs, double stepCpuMs) {}

    public static List<Timing> time(List<Path> packages, RuntimeOptions options, int batch, int prefix, int rounds)
            throws IOException, OrtException {
        OrtEnvironment env = OrtSessions.environment(options);
        List<Runner> runners = new ArrayList<>();
        try {
            for (Path p : packages) {
                runners.add(new Runner(p.resolve("decoder.onnx"), env, options, batch, prefix));
            }
            for (int w = 0; w < 2; w++) {
                for (Runner r : runners) {
                    r.round();
                }
            }
            double[][][] ms = new double[runners.size()][4][rounds];
            for (int i = 0; i < rounds; i++) {
                for (int p = 0; p < runners.size(); p++) {
                    double[] round = runners.get(p).round();
                    for (int m = 0; m < 4; m++) {
                        ms[p][m][i] = round[m];
                    }
                }
            }
            List<Timing> out = new ArrayList<>();
            for (int p = 0; p < runners.size(); p++) {
                out.add(new Timing(packages.get(p), EncoderGraphTiming.median(ms[p][0]),
                        EncoderGraphTiming.median(ms[p][1]), EncoderGraphTiming.mean(ms[p][2]),
                        EncoderGraphTiming.mean(ms[p][3])));
            }
            return out;
        } finally {
            for (Runner r : runners) {
                r.close();
            }
        }
    }

    /** One decoder session, its cache buffers and the inputs of its prefill and step runs (also for GenerationOverheadTiming). */
    static final class Runner implements AutoCloseable {
        private final OrtSession session;
        private final List<OnnxTensor> owned = new ArrayList<>();
        private final Map<String, OnnxTensor> prefillIn = new HashMap<>();
        private final Map<String, OnnxTensor> stepIn = new HashMap<>();
        private final Map<String, OnnxTensor> pinned = new HashMap<>();
        private final Set<String> requested;
        private final boolean ownsSession;

        Runner(Path decoder, OrtEnvironment env, RuntimeOptions options, int batch, int prefix)
                throws IOException, OrtException {
            this(OrtSessions.open(decoder, options), true, env, batch, prefix);
        }

        /**
         * Inputs and cache buffers of {@code batch} rows for {@code session}, which stays open when this runner
         * closes unless {@code ownsSession} (several runners may share one session).
         */
        Runner(OrtSession session, boolean ownsSession, OrtEnvironment env, int batch, int prefix)
                throws OrtException {
            this.session = session;
            this.ownsSession = ownsSession;
            Map<String, NodeInfo> inputs = session.getInputInfo();
            if (!inputs.containsKey(FusedLlamaGraphs.SEQLENS_K)) {
                throw new IllegalArgumentException("not a fused LLaMA decoder (no "
                        + FusedLlamaGraphs.SEQLENS_K + " input)");
            }
            long hidden = ((TensorInfo) inputs.get(LlamaGraphs.INPUTS_EMBEDS).getInfo()).getShape()[2];
            long[] kv = ((TensorInfo) inputs.get(LlamaGraphs.pastKey(0)).getInfo()).getShape();
            int capacity = prefix + 1;
            SplittableRandom random = new SplittableRandom(7);
            fill(env, prefillIn, random, batch, prefix, hidden, prefix);
            fill(env, stepIn, random, batch, 1, hidden, prefix + 1);
            for (int i = 0; inputs.containsKey(LlamaGraphs.pastKey(i)); i++) {
                for (String[] names : List.of(new String[] {LlamaGraphs.pastKey(i), LlamaGraphs.presentKey(i)},
                        new String[] {LlamaGraphs.pastValue(i), LlamaGraphs.presentValue(i)})) {
                    FloatBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(batch * kv[1] * capacity * kv[3]
                            * Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
                    OnnxTensor cache = own(OnnxTensor.createTensor(env, buffer,
                            new long[] {batch, kv[1], capacity, kv[3]}));
                    prefillIn.put(names[0], cache);
                    stepIn.put(names[0], cache);
                    pinned.put(names[1], cache);
                }
            }
            if (TokenChoiceHead.offeredBy(session.getOutputNames())) {
                LongBuffer count = LongBuffer.wrap(new long[] {2});
                OnnxTensor c = own(OnnxTensor.createTensor(env, count, new long[] {1}));
                prefillIn.put(TokenChoiceHead.CHOICE_COUNT, c);
                stepIn.put(TokenChoiceHead.CHOICE_COUNT, c);
                requested = Set.of(TokenChoiceHead.CHOICE_IDS, TokenChoiceHead.CHOICE_LOG_PROBS);
            } else {
                requested = Set.of(LlamaGraphs.LOGITS);
            }
        }

        private void fill(OrtEnvironment env, Map<String, OnnxTensor> in, SplittableRandom random, int batch,
                          int seq, long hidden, int lengthAfter) throws OrtException {
            in.put(LlamaGraphs.INPUTS_EMBEDS, own(DecoderGraphTiming.floats(env, random, batch, seq, hidden)));
            int[] seqlens = new int[batch];
            Arrays.fill(seqlens, lengthAfter - 1);
            in.put(FusedLlamaGraphs.SEQLENS_K, own(OnnxTensor.createTensor(env, IntBuffer.wrap(seqlens),
                    new long[] {batch})));
            in.put(FusedLlamaGraphs.TOTAL_SEQUENCE_LENGTH, own(OnnxTensor.createTensor(env,
                    IntBuffer.wrap(new int[] {lengthAfter}), new long[] {1})));
            long[] positions = new long[batch];
            Arrays.fill(positions, seq - 1);
            in.put(FusedLlamaGraphs.LOGITS_POSITIONS, own(OnnxTensor.createTensor(env, LongBuffer.wrap(positions),
                    new long[] {batch, 1})));
        }

        /** One prefill run. */
        void prefill() throws OrtException {
            session.run(prefillIn, requested, pinned).close();
        }

        /** One step run (always at the position after the prefix). */
        void step() throws OrtException {
            session.run(stepIn, requested, pinned).close();
        }

        /** Wall ms of a prefill and a step, then the process CPU ms of each. */
        double[] round() throws OrtException {
            long cpu0 = CPU.getProcessCpuTime();
            long t0 = System.nanoTime();
            session.run(prefillIn, requested, pinned).close();
            long t1 = System.nanoTime();
            long cpu1 = CPU.getProcessCpuTime();
            session.run(stepIn, requested, pinned).close();
            long t2 = System.nanoTime();
            long cpu2 = CPU.getProcessCpuTime();
            return new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (cpu1 - cpu0) / 1e6, (cpu2 - cpu1) / 1e6};
        }

        private OnnxTensor own(OnnxTensor t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() throws OrtException {
            owned.forEach(OnnxTensor::close);
            if (ownsSession) {
                session.close();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: FusedDecoderTiming THREADS BATCH PREFIX ROUNDS PACKAGE...");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[0]);
        int batch = Integer.parseInt(args[1]);
        int prefix = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        List<Path> packages = Arrays.stream(args).skip(4).map(Path::of).toList();
        List<Timing> timings = time(packages, RuntimeOptions.cpu(threads), batch, prefix, rounds);
        Timing first = timings.get(0);
        for (Timing t : timings) {
            System.out.printf(Locale.ROOT, "%s: %d threads, batch %d, prefix %d: prefill %.2f ms (CPU %.2f, %.2fx the "
                            + "first), step %.2f ms (CPU %.2f, %.2fx the first)%n", t.pkg(), threads, batch, prefix,
                    t.prefillMs(), t.prefillCpuMs(), first.prefillCpuMs() / t.prefillCpuMs(), t.stepMs(),
                    t.stepCpuMs(), first.stepCpuMs() / t.stepCpuMs());
        }
    }
}
