package dev.loupe.model.llava;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.RowsPerRun;
import dev.loupe.model.vision.VisionFeatures;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs the {@link LlavaImageGraph} in ONNX Runtime: a batch of preprocessed images to, per image, the projected
 * features that replace its {@code <image>} tokens. Rows do not interact, so a row's features do not depend on
 * its batch, and the graph runs once per distinct image ({@link VisionFeatures}). Thread-safe; owns its session.
 */
public final class LlavaImageEncoder implements AutoCloseable {
    private final LlavaConfig config;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final VisionFeatures features;
    /** Images per run: all of a call's, or fewer where the graph says so ({@link RowsPerRun}). */
    private final int runImages;
    /** How a call's runs share the cores: side by side where the graph limits a run (as {@code ImageEncoder}). */
    private final ConcurrentRuns runs;
    private final LongAdder pixelBytes = new LongAdder();
    private final LongAdder featureBytes = new LongAdder();

    private LlavaImageEncoder(LlavaConfig config, OrtEnvironment env, OrtSession session, long visionCacheBytes,
                              int runImages, ConcurrentRuns runs) {
        this.config = config;
        this.runImages = runImages;
        this.runs = runs;
        this.env = env;
        this.session = session;
        this.features = new VisionFeatures(this::runFeatures, visionCacheBytes);
    }

    /** The image stage: the projected features of each image, its bytes counted ({@link #traffic()}). */
    private float[][] runFeatures(List<ImageTensor> images) throws AnnotationException {
        float[][] out = run(images, LlavaImageGraph.IMAGE_FEATURES).get(LlavaImageGraph.IMAGE_FEATURES);
        int size = config.vision().imageSize();
        pixelBytes.add((long) images.size() * 3 * size * size * Float.BYTES);
        for (float[] row : out) {
            featureBytes.add((long) row.length * Float.BYTES);
        }
        return out;
    }

    /**
     * The bytes the image stage moved between host and execution provider since the model was loaded: the pixels of
     * each encoded image in, its projected features (the visual prefix) out; images whose features were reused
     * move nothing. Where the decoder runs bound to the device these are the image side's crossings.
     */
    public HostTrafficStats traffic() {
        return HostTrafficStats.imageSide(pixelBytes.sum(), featureBytes.sum());
    }

    public static LlavaImageEncoder open(Path imageGraph, LlavaConfig config, RuntimeOptions options)
            throws IOException {
        OrtSession session = OrtSessions.open(imageGraph, options);
        try {
            int runImages = RowsPerRun.of(session, Integer.MAX_VALUE);
            ConcurrentRuns runs = ConcurrentRuns.forImageRuns(runImages < Integer.MAX_VALUE, options,
                    "loupe-llava-image");
            return new LlavaImageEncoder(config, OrtSessions.environment(options), session,
                    options.visionCacheBytes(), runImages, runs);
        } catch (IOException | RuntimeException e) {
            try {
                session.close();
            } catch (OrtException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Per image, the projected features [image_seq_length][llm_hidden]; the graph runs once per distinct image and
     * its results are reused across calls ({@link #visionFeatures()}).
     */
    public float[][][] encode(List<ImageTensor> images) throws AnnotationException {
        if (images.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "no images to encode");
        }
        float[][] flat = features.features(images);
        int n = config.imageSeqLength();
        float[][][] out = new float[images.size()][n][];
        for (int b = 0; b < out.length; b++) {
            int d = flat[b].length / n;
            for (int t = 0; t < n; t++) {
                out[b][t] = java.util.Arrays.copyOfRange(flat[b], t * d, (t + 1) * d);
            }
        }
        return out;
    }

    /** The per-image reuse of the image graph (its counts are the model's). */
    public VisionFeatures visionFeatures() {
        return features;
    }

    /** The named outputs (see {@link LlavaImageGraph}), per image flat row-major, nothing reused; for parity diagnostics. */
    public Map<String, float[][]> run(List<ImageTensor> images, String... outputs) throws AnnotationException {
        if (images.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "no images to encode");
        }
        if (images.size() <= runImages) {
            return runOnce(images, 0, outputs);
        }
        Map<String, float[][]> out = new java.util.LinkedHashMap<>();
        for (String name : outputs) {
            out.put(name, new float[images.size()][]);
        }
        int count = (images.size() + runImages - 1) / runImages;
        runs.forEach(count, run -> {
            int from = run * runImages;
            int to = Math.min(images.size(), from + runImages);
            Map<String, float[][]> part = runOnce(images.subList(from, to), from, outputs);
            for (String name : outputs) {
                System.arraycopy(part.get(name), 0, out.get(name), from, to - from);
            }
        });
        return out;
    }

    private Map<String, float[][]> runOnce(List<ImageTensor> images, int first, String... outputs)
            throws AnnotationException {
        int batch = images.size();
        int size = config.vision().imageSize();
        int per = 3 * size * size;
        float[] pixels = new float[batch * per];
        for (int b = 0; b < batch; b++) {
            ImageTensor img = images.get(b);
            if (img == null || img.channels() != 3 || img.height() != size || img.width() != size) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "image " + (first + b) + " must be preprocessed to 3x"
                        + size + "x" + size + ", got " + (img == null ? "null" : img.channels() + "x" + img.height()
                        + "x" + img.width()));
            }
            System.arraycopy(img.chw(), 0, pixels, b * per, per);
        }
        try (OnnxTensor px = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), new long[] {batch, 3, size, size});
             OrtSession.Result r = session.run(Map.of(LlavaImageGraph.PIXEL_VALUES, px), Set.of(outputs))) {
            Map<String, float[][]> out = new java.util.LinkedHashMap<>();
            for (String name : outputs) {
                FloatBuffer fb = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
                int rowSize = fb.remaining() / batch;
                float[][] rows = new float[batch][rowSize];
                for (int b = 0; b < batch; b++) {
                    fb.get(rows[b]);
                }
                out.put(name, rows);
            }
            return out;
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws OrtException {
        runs.close();
        session.close();
    }
}
