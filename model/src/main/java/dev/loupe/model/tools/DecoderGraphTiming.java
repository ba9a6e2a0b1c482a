package dev.loupe.model.tools;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.llm.LlamaGraphs;
import dev.loupe.model.llm.TokenChoiceHead;
import dev.loupe.model.onnx.OrtSessions;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The language-model decoder graph ({@link LlamaGraphs}) run alone: only its session open, fixed random inputs
 * built once, nothing but {@code session.run} in the timed loop. Gives the floor that the same graph's runs inside
 * {@code loupe bench} are compared with (docs/benchmarks.md): the prefill of {@code batch} rows of {@code prefix}
 * positions and one decoding step after {@code prefix} cached positions. Sessions come from {@link OrtSessions}
 * (the shared pool), so the threading is the application's.
 *
 * <p>Usage: {@code java -cp ... dev.loupe.model.tools.DecoderGraphTiming DECODER.onnx THREADS BATCH PREFIX RUNS}
 */
public final class DecoderGraphTiming {
    private DecoderGraphTiming() {}

    /** Median milliseconds of one prefill run and of one step run. */
    public record Timing(double prefillMs, double stepMs) {}

    public static Timing time(Path decoder, RuntimeOptions options, int batch, int prefix, int runs)
            throws IOException, OrtException {
        OrtEnvironment env = OrtSessions.environment(options);
        try (OrtSession s = OrtSessions.open(decoder, options)) {
            Map<String, NodeInfo> inputs = s.getInputInfo();
            long hidden = ((TensorInfo) inputs.get(LlamaGraphs.INPUTS_EMBEDS).getInfo()).getShape()[2];
            long[] kv = ((TensorInfo) inputs.get(LlamaGraphs.pastKey(0)).getInfo()).getShape();
            int layers = 0;
            while (inputs.containsKey(LlamaGraphs.pastKey(layers))) {
                layers++;
            }
            double prefill = median(s, env, batch, prefix, 0, hidden, kv[1], kv[3], layers, runs);
            double step = median(s, env, batch, 1, prefix, hidden, kv[1], kv[3], layers, runs);
            return new Timing(prefill, step);
        }
    }

    private static double median(OrtSession s, OrtEnvironment env, int batch, int seq, int past, long hidden,
                                 long heads, long headDim, int layers, int runs) throws OrtException {
        SplittableRandom random = new SplittableRandom(7);
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put(LlamaGraphs.INPUTS_EMBEDS, own(owned, floats(env, random, batch, seq, hidden)));
            long[] mask = new long[batch * (past + seq)];
            Arrays.fill(mask, 1);
            in.put(LlamaGraphs.ATTENTION_MASK, own(owned, OnnxTensor.createTensor(env, LongBuffer.wrap(mask),
                    new long[] {batch, past + seq})));
            long[] positions = new long[batch * seq];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = past + i % seq;
            }
            in.put(LlamaGraphs.POSITION_IDS, own(owned, OnnxTensor.createTensor(env, LongBuffer.wrap(positions),
                    new long[] {batch, seq})));
            if (s.getInputNames().contains(LlamaGraphs.LOGITS_TO_KEEP)) {
                in.put(LlamaGraphs.LOGITS_TO_KEEP, own(owned, OnnxTensor.createTensor(env,
                        LongBuffer.wrap(new long[] {1}), new long[] {1})));
            }
            if (s.getInputNames().contains(TokenChoiceHead.CHOICE_COUNT)) {
                in.put(TokenChoiceHead.CHOICE_COUNT, own(owned, OnnxTensor.createTensor(env,
                        LongBuffer.wrap(new long[] {1}), new long[] {1})));
            }
            for (int i = 0; i < layers; i++) {
                in.put(LlamaGraphs.pastKey(i), own(owned, floats(env, random, batch, heads, past, headDim)));
                in.put(LlamaGraphs.pastValue(i), own(owned, floats(env, random, batch, heads, past, headDim)));
            }
            for (int w = 0; w < 3; w++) {
                s.run(in).close();
            }
            double[] ms = new double[runs];
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                s.run(in).close();
                ms[r] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(ms);
            return ms[runs / 2];
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    /** A tensor of standard-normal floats of the given shape (also for {@link EncoderGraphTiming}). */
    static OnnxTensor floats(OrtEnvironment env, SplittableRandom random, long... shape)
            throws OrtException {
        float[] v = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, (a, b) -> a * b))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: DecoderGraphTiming DECODER.onnx THREADS BATCH PREFIX RUNS");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int prefix = Integer.parseInt(args[3]);
        Timing t = time(Path.of(args[0]), RuntimeOptions.cpu(threads), batch, prefix, Integer.parseInt(args[4]));
        System.out.printf(Locale.ROOT, "decoder alone: %d threads, batch %d, prefix %d: prefill %.2f ms, step %.2f ms%n",
                threads, batch, prefix, t.prefillMs(), t.stepMs());
    }
}
