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
import dev.loupe.model.api.VisionFeatureStats;
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

/**
 * Runs the {@link LlavaImageGraph} through ONNX Runtime's Java API: a batch of preprocessed images to, per image, the
 * projected features that replace its {@code <image>} tokens, as host rows. Rows do not interact, so a row's features
 * do not depend on its batch, and the graph runs once per distinct image ({@link VisionFeatures}). The image side of
 * the Java-API decoder runner ({@link BoundLlavaImageSide} is the device-bound runner's). Thread-safe; owns its
 * session.
 */
public final class LlavaImageEncoder implements LlavaImageSide {
    private final LlavaConfig config;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final VisionFeatures features;
    /** Images per run: all of a call's, or fewer where the graph says so ({@link RowsPerRun}). */
    private final int runImages;
    /** How a call's runs share the cores: side by side where the graph limits a run (as {@code ImageEncoder}). */
    private final ConcurrentRuns runs;

    private LlavaImageEncoder(LlavaConfig config, OrtEnvironment env, OrtSession session, long visionCacheBytes,
                              int runImages, ConcurrentRuns runs) {
        this.config = config;
        this.runImages = runImages;
        this.runs = runs;
        this.env = env;
        this.session = session;
        this.features = new VisionFeatures(images -> run(images, LlavaImageGraph.IMAGE_FEATURES)
                .get(LlavaImageGraph.IMAGE_FEATURES), visionCacheBytes);
    }

    /** Nothing counted: the Java-API runner's crossings are not metered (as InstructBLIP's {@code ImageEncoder}). */
    @Override
    public HostTrafficStats traffic() {
        return HostTrafficStats.NONE;
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
    @Override
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

    @Override
    public VisionFeatureStats visionStats() {
        return features.stats();
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
        float[] pixels = stackPixels(config, images, first);
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

    /**
     * The pixels of {@code images} as one [n, 3, S, S] array.
     *
     * @param first the index of {@code images}' first in its call (for the error)
     * @throws AnnotationException when an image is not preprocessed to the graph's size
     */
    static float[] stackPixels(LlavaConfig config, List<ImageTensor> images, int first) throws AnnotationException {
        int size = config.vision().imageSize();
        int per = 3 * size * size;
        float[] pixels = new float[images.size() * per];
        for (int b = 0; b < images.size(); b++) {
            ImageTensor img = images.get(b);
            if (img == null || img.channels() != 3 || img.height() != size || img.width() != size) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "image " + (first + b) + " must be preprocessed to 3x"
                        + size + "x" + size + ", got " + (img == null ? "null" : img.channels() + "x" + img.height()
                        + "x" + img.width()));
            }
            System.arraycopy(img.chw(), 0, pixels, b * per, per);
        }
        return pixels;
    }

    @Override
    public void close() throws OrtException {
        try {
            runs.close();
            session.close();
        } finally {
            features.close();   // the cache's native memory
        }
    }
}
