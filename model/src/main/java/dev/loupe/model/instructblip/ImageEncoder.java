package dev.loupe.model.instructblip;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.DirectFloatPool;
import dev.loupe.model.onnx.FloatArrayPool;
import dev.loupe.model.onnx.GraphBuilder;
import dev.loupe.model.onnx.OnnxModelWriter;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.onnx.OrtSessions;
import dev.loupe.model.onnx.RowsPerRun;
import dev.loupe.model.vision.VisionFeatures;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the InstructBLIP image side in ONNX Runtime: images through the vision graph, then the Q-Former graph with
 * each request's instruction tokens, giving per request the {@code num_query_tokens} embeddings that replace the
 * image placeholder tokens in the language model's input. Batches are padded on the right and masked so that each
 * row's result equals that row run alone. For BLIP-2 (no Q-Former text input) the instruction rows are ignored.
 * The prompt-independent stage runs once per distinct image ({@link VisionFeatures}). Thread-safe; owns its
 * sessions (two, and two more that run on their callers once {@link #encodeOnCaller} asks for them at fp32).
 */
public final class ImageEncoder implements QueryEncoder {
    /** File names of the two graphs inside a model package directory. */
    public static final String VISION_FILE = "vision.onnx";
    public static final String QFORMER_FILE = "qformer.onnx";

    private final InstructBlipConfig config;
    private final OrtEnvironment env;
    /** The sessions and run spreads of {@link #encode}: the shared pool (or, at int8, the callers side by side). */
    private final Graphs pooled;
    /** Where {@link #encodeOnCaller}'s sessions come from, the first time it is called. */
    private final Path visionOnnx;
    private final Path qformerOnnx;
    private final RuntimeOptions options;
    /** {@link #encodeOnCaller}'s sessions (each run wholly on its caller, one after another), opened on first use. */
    private Graphs onCaller;
    private final VisionFeatures features;
    /** Images per vision run: {@link #VISION_RUN_IMAGES}, or fewer where the graph says so ({@link RowsPerRun}). */
    private final int visionRunImages;
    /**
     * Reused native memory for the graphs' large inputs and outputs (pixels, vision features, Q-Former outputs): no
     * heap array and no per-run copy by the Java API, and no garbage (docs/benchmarks.md, image side). A few buffers
     * each, for concurrent callers; they grow to the largest run (one vision run's pixels, a batch's features).
     */
    private final DirectFloatPool pixelBuffers = new DirectFloatPool(2);
    private final DirectFloatPool featureBuffers = new DirectFloatPool(2);
    private final DirectFloatPool languageBuffers = new DirectFloatPool(2);
    private final DirectFloatPool queryBuffers = new DirectFloatPool(1);
    /**
     * The heap arrays a batch's rows pass through between the graphs (each image's vision features, each row's
     * language-model inputs), recycled once {@link #encode} has copied them out: a batch's worth (6 MB for the
     * benchmark model's 16 images, 30 MB for InstructBLIP-7B's) would otherwise be garbage on every call, alive
     * while the image side runs and so promoted by the young collections that catch it (issue 13).
     */
    private final FloatArrayPool rowArrays = new FloatArrayPool(ROW_ARRAYS_BYTES);

    /** Idle bytes {@link #rowArrays} keeps: about two batches of 16 at InstructBLIP-7B's sizes. */
    static final long ROW_ARRAYS_BYTES = 64L << 20;

    /**
     * One way to run the two graphs: their sessions and how a batch's runs share the cores. {@code owned}: whether
     * closing these graphs closes the sessions (a caller-run set may reuse sessions that already run on their
     * callers).
     */
    private record Graphs(OrtSession vision, OrtSession qformer, ConcurrentRuns visionRuns,
                          ConcurrentRuns qformerRuns, boolean owned) {
        void close() throws OrtException {
            visionRuns.close();
            qformerRuns.close();
            if (owned) {
                try {
                    qformer.close();
                } finally {
                    vision.close();
                }
            }
        }
    }

    private ImageEncoder(InstructBlipConfig config, OrtEnvironment env, Graphs pooled, Path visionOnnx,
                         Path qformerOnnx, RuntimeOptions options, int visionRunImages) {
        this.config = config;
        this.visionRunImages = visionRunImages;
        this.env = env;
        this.pooled = pooled;
        this.visionOnnx = visionOnnx;
        this.qformerOnnx = qformerOnnx;
        this.options = options;
        this.features = new VisionFeatures(stage(pooled), options.visionCacheBytes());
    }

    /** The prompt-independent stage ({@link VisionFeatures}) on {@code graphs}. */
    private VisionFeatures.Stage stage(Graphs graphs) {
        return config.qformerTextInput() ? images -> runVision(images, graphs) : images -> runImageSide(images, graphs);
    }

    /** The vision graph ({@link VisionGraph}) for the integrator's converter. */
    public static GraphBuilder buildVision(InstructBlipConfig config, SafetensorsCheckpoint checkpoint) {
        return VisionGraph.build(config, checkpoint);
    }

    /** The Q-Former + language projection graph ({@link QFormerGraph}) for the integrator's converter. */
    public static GraphBuilder buildQFormer(InstructBlipConfig config, SafetensorsCheckpoint checkpoint) {
        return QFormerGraph.build(config, checkpoint);
    }

    /** Converts a Hugging Face checkpoint directory into {@link #VISION_FILE} and {@link #QFORMER_FILE} in outDir. */
    public static void writeModels(Path checkpointDir, Path outDir) throws IOException {
        InstructBlipConfig config = InstructBlipConfig.load(checkpointDir);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(checkpointDir)) {
            OnnxModelWriter.write(buildVision(config, ckpt), outDir.resolve(VISION_FILE));
            OnnxModelWriter.write(buildQFormer(config, ckpt), outDir.resolve(QFORMER_FILE));
        }
    }

    /** Opens {@link #VISION_FILE} and {@link #QFORMER_FILE} from a model directory, on CPU. */
    public static ImageEncoder open(Path modelDir, InstructBlipConfig config, int intraOpThreads) throws IOException {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be at least 1, got " + intraOpThreads);
        }
        return open(modelDir.resolve(VISION_FILE), modelDir.resolve(QFORMER_FILE), config,
                RuntimeOptions.cpu(intraOpThreads));
    }

    public static ImageEncoder open(Path visionOnnx, Path qformerOnnx, InstructBlipConfig config,
                                    RuntimeOptions options) throws IOException {
        int visionRunImages = RowsPerRun.of(visionOnnx, VISION_RUN_IMAGES);
        // How a batch's vision runs share the cores: side by side, one per thread of the pool, where the vision graph
        // takes fewer images per run than VISION_RUN_IMAGES (too small a run to spread one over the pool; both
        // sessions then run each run wholly on its caller, OrtSessions.openOnCaller); else one after another, each
        // run over the pool.
        ConcurrentRuns visionRuns = ConcurrentRuns.forImageRuns(visionRunImages < VISION_RUN_IMAGES, options,
                "loupe-image-side");
        boolean onCallers = visionRuns.threads() > 1;
        // The Q-Former's runs side by side on the CPU: on their callers with the vision runs above, else each still
        // over the pool (a 4-image Q-Former run is too small to keep the pool's threads busy: docs/benchmarks.md);
        // one after another on a GPU.
        ConcurrentRuns qformerRuns = onCallers ? visionRuns : ConcurrentRuns.forCpuRuns(options, "loupe-qformer");
        OrtSession v = null;
        try {
            v = onCallers ? OrtSessions.openOnCaller(visionOnnx, options) : OrtSessions.open(visionOnnx, options);
            OrtSession q = onCallers ? OrtSessions.openOnCaller(qformerOnnx, options)
                    : OrtSessions.open(qformerOnnx, options);
            return new ImageEncoder(config, OrtSessions.environment(options),
                    new Graphs(v, q, visionRuns, qformerRuns, true), visionOnnx, qformerOnnx, options,
                    visionRunImages);
        } catch (IOException | RuntimeException e) {
            visionRuns.close();
            qformerRuns.close();
            if (v != null) {
                try {
                    v.close();
                } catch (OrtException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    public InstructBlipConfig config() {
        return config;
    }

    public int numQueryTokens() {
        return config.numQueryTokens();
    }

    public int languageHiddenSize() {
        return config.languageHiddenSize();
    }

    /** The longest Q-Former instruction (in tokens) the position embeddings allow; truncate to this. */
    public int maxQFormerTokens() {
        return config.qformer().maxPositionEmbeddings();
    }

    /**
     * Encodes a batch: row i is images.get(i) with Q-Former instruction tokens qformerIds[i] (unpadded).
     * Returns per row the language-model inputs [num_query_tokens][llm_hidden]. The prompt-independent part runs
     * once per distinct image and is reused across calls through {@link #visionFeatures()}: the ViT output for
     * InstructBLIP (its Q-Former reads the instruction), the whole image side for BLIP-2 (its Q-Former reads none).
     */
    public float[][][] encode(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        return encode(images, qformerIds, pooled);
    }

    /**
     * As {@link #encode}, every run wholly on the calling thread, one after another: no intra-op pool and no helper
     * thread, so the work takes one core at most and only the caller's priority. For a background thread that fills
     * the cores the rest of the model leaves idle (continuous batching's image side ahead of admission). Where the
     * pool sessions spread runs over the pool (fp32), sessions of the same graphs without a pool are opened on the
     * first call (a second copy of the image side's weights); where they already run on their callers (int8) they
     * are used one run after another. Results equal {@link #encode}'s: ONNX Runtime's CPU kernels split work over
     * rows and columns, never over a sum.
     */
    public float[][][] encodeOnCaller(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        return encode(images, qformerIds, onCallerGraphs());
    }

    /** On the CPU (a GPU session runs on the device whatever thread calls it). */
    @Override
    public boolean buildsOnCaller() {
        return options.device() == RuntimeOptions.Device.CPU;
    }

    /** As {@link #prefixes}, the image side through {@link #encodeOnCaller}. */
    @Override
    public List<VisualPrefix> prefixesOnCaller(List<ImageTensor> images, long[][] qformerIds, float[][][] text)
            throws AnnotationException {
        return QueryEncoder.hostPrefixes(encodeOnCaller(images, qformerIds), text);
    }

    private synchronized Graphs onCallerGraphs() throws AnnotationException {
        if (onCaller == null) {
            ConcurrentRuns visionOneByOne = new ConcurrentRuns(1, "loupe-image-side-on-caller");
            ConcurrentRuns qformerOneByOne = new ConcurrentRuns(1, "loupe-qformer-on-caller");
            if (pooled.visionRuns().threads() > 1 || options.device() != RuntimeOptions.Device.CPU
                    || !OrtSessions.runsOnCaller()) {
                onCaller = new Graphs(pooled.vision(), pooled.qformer(), visionOneByOne, qformerOneByOne, false);
            } else {
                OrtSession v = null;
                try {
                    v = OrtSessions.openOnCaller(visionOnnx, options);
                    onCaller = new Graphs(v, OrtSessions.openOnCaller(qformerOnnx, options), visionOneByOne,
                            qformerOneByOne, true);
                } catch (IOException e) {
                    if (v != null) {
                        try {
                            v.close();
                        } catch (OrtException suppressed) {
                            e.addSuppressed(suppressed);
                        }
                    }
                    throw new AnnotationException(ErrorCode.INFERENCE_FAILED,
                            "cannot open the image side's caller-run sessions: " + e.getMessage(), e);
                }
            }
        }
        return onCaller;
    }

    private float[][][] encode(List<ImageTensor> images, long[][] qformerIds, Graphs graphs)
            throws AnnotationException {
        checkRows(images, qformerIds);
        VisionFeatures.Rows imageRows = features.rows(images, stage(graphs));
        float[][] languageInputs = null;
        try {
            languageInputs = config.qformerTextInput()
                    ? runQFormer(imageRows.rows(), qformerIds, false, graphs).languageInputs()
                    : imageRows.rows();
            int k = numQueryTokens();
            int d = languageHiddenSize();
            float[][][] out = new float[images.size()][k][d];
            for (int b = 0; b < out.length; b++) {
                for (int t = 0; t < k; t++) {
                    System.arraycopy(languageInputs[b], t * d, out[b][t], 0, d);
                }
            }
            return out;
        } finally {   // copied out (or failed): the arrays this call alone holds serve the next
            imageRows.owned().forEach(rowArrays::give);
            if (config.qformerTextInput() && languageInputs != null) {
                for (float[] row : languageInputs) {
                    rowArrays.give(row);
                }
            }
        }
    }

    @Override
    public VisionFeatureStats visionStats() {
        return features.stats();
    }

    /** Nothing is counted: the Java API's tensors are host memory. */
    @Override
    public HostTrafficStats traffic() {
        return HostTrafficStats.NONE;
    }

    /** Row arrays taken so far, and how many of them were recycled ones (for tests). */
    long[] rowArraysTakenAndReused() {
        return rowArrays.takenAndReused();
    }

    /** The per-image reuse of this model's prompt-independent image stage (its counts are the model's). */
    public VisionFeatures visionFeatures() {
        return features;
    }

    /** Per-row flat outputs of both graphs (row-major), for diagnostics and parity tests. */
    public record Encoded(float[][] imageEmbeds, float[][] queryOutput, float[][] languageInputs) {}

    /** Every stage for every row, nothing reused: what the parity and batch-invariance tests compare. */
    public Encoded encodeWithIntermediates(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        checkRows(images, qformerIds);
        float[][] imageEmbeds = runVision(images, pooled);
        QFormerOutputs q = runQFormer(imageEmbeds, qformerIds, true, pooled);
        return new Encoded(imageEmbeds, q.queryOutput(), q.languageInputs());
    }

    /** The Q-Former graph's per-row outputs (queryOutput null when not asked for). */
    private record QFormerOutputs(float[][] queryOutput, float[][] languageInputs) {}

    private void checkRows(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        QFormerInstructions.check(config, images, qformerIds);
    }

    /** BLIP-2's image stage: vision and Q-Former together, with no instruction. */
    private float[][] runImageSide(List<ImageTensor> images, Graphs graphs) throws AnnotationException {
        return runQFormer(runVision(images, graphs), new long[images.size()][0], false, graphs).languageInputs();
    }

    /**
     * Images per vision run. Each image's features are its own (no attention across images), and a run over 4
     * images (over 1000 token rows) keeps the GEMMs as efficient as one over 16 (measured: the same CPU time per
     * image), while ONNX Runtime's arena, which keeps the largest activations the session ever needed, holds a
     * quarter of a batch-16 run's (docs/benchmarks.md, peak RSS). An int8 vision tower takes one image per run
     * ({@link RowsPerRun}: its activation ranges span the run), as cheap per image.
     */
    public static final int VISION_RUN_IMAGES = 4;

    /**
     * The vision graph: per image its {@link VisionGraph#IMAGE_EMBEDS}, flat row-major. Runs of
     * {@link #visionRunImages} consecutive images, spread over the cores by {@code graphs}' vision runs.
     */
    private float[][] runVision(List<ImageTensor> images, Graphs graphs) throws AnnotationException {
        float[][] out = new float[images.size()][];
        int runs = (images.size() + visionRunImages - 1) / visionRunImages;
        graphs.visionRuns().forEach(runs, run -> {
            int from = run * visionRunImages;
            List<ImageTensor> part = images.subList(from, Math.min(images.size(), from + visionRunImages));
            float[][] rows = runVisionOnce(part, from, graphs.vision());
            System.arraycopy(rows, 0, out, from, rows.length);
        });
        return out;
    }

    private float[][] runVisionOnce(List<ImageTensor> images, int first, OrtSession vision)
            throws AnnotationException {
        int batch = images.size();
        int size = config.vision().imageSize();
        int per = config.vision().numPositions() * config.vision().hiddenSize();
        try (DirectFloatPool.Lease pixels = pixelBuffers.take(batch * 3 * size * size);
             DirectFloatPool.Lease embeds = featureBuffers.take(batch * per)) {
            stackPixels(config, images, first, pixels.buffer());
            try (OnnxTensor px = OnnxTensor.createTensor(env, pixels.buffer(), new long[] {batch, 3, size, size});
                 OnnxTensor out = OnnxTensor.createTensor(env, embeds.buffer(), new long[] {batch,
                         config.vision().numPositions(), config.vision().hiddenSize()})) {
                vision.run(Map.of(VisionGraph.PIXEL_VALUES, px), Set.of(), Map.of(VisionGraph.IMAGE_EMBEDS, out))
                        .close();
            }
            return rows(embeds.buffer(), batch);
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        }
    }

    /**
     * The Q-Former graph over per-row image embeddings (rows may share one array) and instruction tokens, right
     * padded and masked; the instruction is left out for BLIP-2. {@code queryOutput}: whether to return the
     * queries before the language projection too (for diagnostics; else null).
     */
    private QFormerOutputs runQFormer(float[][] imageEmbeds, long[][] qformerIds, boolean queryOutput, Graphs graphs)
            throws AnnotationException {
        int batch = imageEmbeds.length;
        QFormerInstructions text = QFormerInstructions.pad(config, qformerIds);
        float[][] queryRows = queryOutput ? new float[batch][] : null;
        float[][] languageRows = new float[batch][];
        int runs = (batch + QFORMER_RUN_IMAGES - 1) / QFORMER_RUN_IMAGES;
        graphs.qformerRuns().forEach(runs, run -> {
            int from = run * QFORMER_RUN_IMAGES;
            int n = Math.min(QFORMER_RUN_IMAGES, batch - from);
            QFormerOutputs part = runQFormerOnce(imageEmbeds, text, from, n, queryOutput, graphs.qformer());
            System.arraycopy(part.languageInputs(), 0, languageRows, from, n);
            if (queryOutput) {
                System.arraycopy(part.queryOutput(), 0, queryRows, from, n);
            }
        });
        return new QFormerOutputs(queryRows, languageRows);
    }

    /**
     * Images per Q-Former run. Each row's queries are its own (no attention across rows), and a run over 4 images
     * already multiplies over 1000 image-token rows in its cross-attention, while its activations (key and value
     * projections of every image token, the int8 graphs' quantized copies of them) grow with the run: a batch of 16
     * in one run holds four times a 4-image run's, at the process's resident peak (docs/benchmarks.md, "Peak RSS:
     * the int8 run's peak broken down"). Every run pads its instructions to the batch's widest, as one run over the
     * batch would. On the CPU these runs go side by side (the pooled graphs' Q-Former runs: two 4-image runs on two threads took
     * 29-36 ms per batch of 16 against 67-80 one after another on the pool at int8, 56-58 against 77-95 at fp32;
     * docs/benchmarks.md).
     */
    public static final int QFORMER_RUN_IMAGES = 4;

    /** The Q-Former over rows [from, from + batch) of {@code imageEmbeds} and of the padded instructions. */
    private QFormerOutputs runQFormerOnce(float[][] imageEmbeds, QFormerInstructions text, int from, int batch,
                                          boolean queryOutput, OrtSession qformer) throws AnnotationException {
        boolean textInput = config.qformerTextInput();
        int textLen = text.width();
        long[] ids = Arrays.copyOfRange(text.ids(), from * textLen, (from + batch) * textLen);
        long[] mask = Arrays.copyOfRange(text.mask(), from * textLen, (from + batch) * textLen);
        int tokens = config.vision().numPositions();
        int hidden = config.vision().hiddenSize();
        int per = tokens * hidden;
        int k = numQueryTokens();
        int queryWidth = config.qformer().hiddenSize();
        int llmWidth = languageHiddenSize();
        try (DirectFloatPool.Lease embeds = featureBuffers.take(batch * per);
             DirectFloatPool.Lease language = languageBuffers.take(batch * k * llmWidth);
             DirectFloatPool.Lease queries = queryOutput ? queryBuffers.take(batch * k * queryWidth) : null) {
            for (int b = 0; b < batch; b++) {
                embeds.buffer().put(b * per, imageEmbeds[from + b]);
            }
            try (OnnxTensor embedT = OnnxTensor.createTensor(env, embeds.buffer(), new long[] {batch, tokens, hidden});
                 OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, textLen});
                 OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, textLen});
                 OnnxTensor languageT = OnnxTensor.createTensor(env, language.buffer(),
                         new long[] {batch, k, llmWidth});
                 OnnxTensor queryT = queries == null ? null : OnnxTensor.createTensor(env, queries.buffer(),
                         new long[] {batch, k, queryWidth})) {
                Map<String, OnnxTensor> inputs = textInput
                        ? Map.of(QFormerGraph.IMAGE_EMBEDS, embedT, QFormerGraph.INPUT_IDS, idT,
                                QFormerGraph.ATTENTION_MASK, maskT)
                        : Map.of(QFormerGraph.IMAGE_EMBEDS, embedT);
                Map<String, OnnxTensor> outputs = queryT == null
                        ? Map.of(QFormerGraph.LANGUAGE_INPUTS, languageT)
                        : Map.of(QFormerGraph.LANGUAGE_INPUTS, languageT, QFormerGraph.QUERY_OUTPUT, queryT);
                qformer.run(inputs, Set.of(), outputs).close();
            }
            return new QFormerOutputs(queries == null ? null : rows(queries.buffer(), batch),
                    rows(language.buffer(), batch));
        } catch (OrtException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        }
    }

    /** The images (checked: 3 x image_size x image_size) stacked into one [n, 3, size, size] array. */
    static float[] stackPixels(InstructBlipConfig config, List<ImageTensor> images, int first)
            throws AnnotationException {
        int size = config.vision().imageSize();
        float[] pixels = new float[images.size() * 3 * size * size];
        stackPixels(config, images, first, FloatBuffer.wrap(pixels));
        return pixels;
    }

    /** The images (checked as above) written one after another into {@code pixels} from its index 0. */
    static void stackPixels(InstructBlipConfig config, List<ImageTensor> images, int first, FloatBuffer pixels)
            throws AnnotationException {
        int size = config.vision().imageSize();
        int per = 3 * size * size;
        for (int b = 0; b < images.size(); b++) {
            ImageTensor img = images.get(b);
            if (img == null || img.channels() != 3 || img.height() != size || img.width() != size) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "image " + (first + b)
                        + " must be preprocessed to 3x" + size + "x" + size + ", got "
                        + (img == null ? "null" : img.channels() + "x" + img.height() + "x" + img.width()));
            }
            pixels.put(b * per, img.chw());
        }
    }

    /** {@code batch} equal rows of {@code flat}, copied out of it into arrays of {@link #rowArrays}. */
    private float[][] rows(FloatBuffer flat, int batch) {
        int per = flat.limit() / batch;
        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = rowArrays.take(per);
            flat.get(b * per, out[b]);
        }
        return out;
    }

    @Override
    public void close() throws OrtException {
        Graphs callers;
        synchronized (this) {
            callers = onCaller;
            onCaller = null;
        }
        try {
            if (callers != null) {
                callers.close();
            }
        } finally {
            try {
                pooled.close();
            } finally {
                features.close();   // the cache's native memory
            }
        }
    }
}
