package dev.loupe.model.llava;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.HostTrafficStats;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.VisionFeatureStats;
import dev.loupe.model.llm.DeviceBlocks;
import dev.loupe.model.llm.DeviceRows;
import dev.loupe.model.llm.VisualPrefix;
import dev.loupe.model.onnx.BoundSessions;
import dev.loupe.model.onnx.ConcurrentRuns;
import dev.loupe.model.onnx.RowsPerRun;
import dev.loupe.model.vision.ImageDigest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * LLaVA's image side for the device-bound decoder runner: the image graph (CLIP tower and projector,
 * {@link LlavaImageGraph}) runs through ONNX Runtime's C++ API with IoBinding and writes the projected features —
 * the visual prefix, {@code image_seq_length x llm_hidden} floats per image (576 x 4,096 for LLaVA-1.5-7B, 9.4 MB) —
 * into one block per call in the execution provider's memory ({@link DeviceRows}, one row per distinct image, shared
 * by the rows' {@link VisualPrefix}es and freed when the last is closed). The decoder's prefill splices them between
 * the prompt's embeddings there, so per call only the pixels of each distinct image go in and nothing comes back
 * ({@link #traffic()}); through the Java API the features would come back and go out again.
 *
 * <p>Each distinct image of a call runs the graph once, in runs of as many images as the package allows
 * ({@link RowsPerRun}; side by side on the CPU where runs are small, as {@link LlavaImageEncoder} runs them). Unlike
 * the Java-API image side, features are not kept across calls: that cache lives in host memory. Images do not interact,
 * so a row's features equal the Java-API image side's. One code path for CPU and CUDA: on CPU the device memory is CPU
 * memory. Thread-safe; owns its sessions.
 */
final class BoundLlavaImageSide implements LlavaImageSide {
    private final LlavaConfig config;
    private final int hidden;
    private final int runImages;
    private final ConcurrentRuns runs;
    private final Session graph;
    private final DeviceBlocks blocks;
    private final RunOptions run = new RunOptions();
    private final LongAdder toDevice = new LongAdder();
    private final LongAdder toHost = new LongAdder();
    private final LongAdder imagesEncoded = new LongAdder();
    private final LongAdder duplicateRows = new LongAdder();

    private BoundLlavaImageSide(LlavaConfig config, int hidden, Session graph, DeviceBlocks blocks, int runImages,
                                ConcurrentRuns runs) {
        this.config = config;
        this.hidden = hidden;
        this.graph = graph;
        this.blocks = blocks;
        this.runImages = runImages;
        this.runs = runs;
    }

    /**
     * Opens the package's image graph on {@code options}' device.
     *
     * @param hidden the language model's hidden size (the graph's output width)
     */
    static BoundLlavaImageSide open(Path imageGraph, LlavaConfig config, int hidden, RuntimeOptions options)
            throws IOException {
        Session graph = BoundSessions.open(imageGraph, options);
        DeviceBlocks blocks = null;
        try {
            blocks = DeviceBlocks.open(graph, options);
            int runImages = RowsPerRun.of(imageGraph, Integer.MAX_VALUE);
            ConcurrentRuns runs = ConcurrentRuns.forImageRuns(runImages < Integer.MAX_VALUE, options,
                    "loupe-llava-bound-image");
            return new BoundLlavaImageSide(config, hidden, graph, blocks, runImages, runs);
        } catch (IOException | RuntimeException e) {
            if (blocks != null) {
                blocks.close();
            }
            graph.close();
            throw e;
        }
    }

    /** Per image, its features read back into Java memory (stage parity checks; generation reads them on the device). */
    @Override
    public float[][][] encode(List<ImageTensor> images) throws AnnotationException {
        DeviceFeatures features = featuresOnDevice(images);
        try {
            return readBack(features);
        } catch (RuntimeException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        } finally {
            features.rows().release();
        }
    }

    /**
     * Per row, {@code before[i]}, its image's features left in the device's memory (one block for the call, a row
     * per distinct image) and {@code after[i]}: nothing of the image side comes back to the host.
     */
    @Override
    public List<VisualPrefix> prefixes(List<ImageTensor> images, float[][][] before, float[][][] after)
            throws AnnotationException {
        if (before.length != images.size() || after.length != images.size()) {
            throw new IllegalArgumentException(images.size() + " images, " + before.length + " / " + after.length
                    + " prompts");
        }
        DeviceFeatures features = featuresOnDevice(images);
        List<VisualPrefix> prefixes = new ArrayList<>(images.size());
        try {
            for (int i = 0; i < images.size(); i++) {
                prefixes.add(VisualPrefix.onDevice(before[i], features.rows(), features.rowOf()[i], after[i]));
            }
            return prefixes;
        } catch (RuntimeException e) {
            VisualPrefix.closeAll(prefixes);
            throw e;
        } finally {
            features.rows().release();
        }
    }

    /** A call's features in the device's memory (a row per distinct image), and each row's index into them. */
    private record DeviceFeatures(DeviceRows rows, int[] rowOf) {}

    /** One graph run per distinct image (in runs of {@link #runImages}) into a new device block, the caller's. */
    private DeviceFeatures featuresOnDevice(List<ImageTensor> images) throws AnnotationException {
        if (images.isEmpty()) {
            throw new AnnotationException(ErrorCode.INVALID_REQUEST, "no images to encode");
        }
        int n = images.size();
        Map<ImageDigest, Integer> index = new HashMap<>();
        List<ImageTensor> distinct = new ArrayList<>();
        int[] rowOf = new int[n];
        for (int i = 0; i < n; i++) {
            ImageTensor image = images.get(i);
            if (image == null) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + i + " has no image");
            }
            Integer known = index.putIfAbsent(ImageDigest.of(image), distinct.size());
            rowOf[i] = known == null ? distinct.size() : known;
            if (known == null) {
                distinct.add(image);
            }
        }
        int d = distinct.size();
        int positions = config.imageSeqLength();
        long perImage = (long) positions * hidden;
        Pointer block;
        try {
            block = blocks.allocate(d * perImage * Float.BYTES);
        } catch (RuntimeException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        }
        try {
            int count = (int) (((long) d + runImages - 1) / runImages); // runImages may be Integer.MAX_VALUE
            runs.forEach(count, r -> {
                int from = r * runImages;
                runGraph(distinct.subList(from, Math.min(d, from + runImages)), from, block, perImage);
            });
        } catch (AnnotationException | RuntimeException e) {
            blocks.free(block);
            throw e instanceof AnnotationException a ? a
                    : new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        }
        imagesEncoded.add(d);
        duplicateRows.add(n - d);
        return new DeviceFeatures(blocks.rows(block, d, positions, hidden), rowOf);
    }

    /** The image graph over {@code images} into images [first, first + n) of the device block. */
    private void runGraph(List<ImageTensor> images, int first, Pointer block, long perImage)
            throws AnnotationException {
        int c = images.size();
        int size = config.vision().imageSize();
        float[] pixels = LlavaImageEncoder.stackPixels(config, images, first);
        long pixelBytes = (long) pixels.length * Float.BYTES;
        try (FloatPointer px = new FloatPointer(pixels);
             Value in = BoundSessions.tensor(blocks.host(), px, 0, pixelBytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, c, 3, size,
                     size);
             Value out = BoundSessions.tensor(blocks.device(), block, first * perImage * Float.BYTES,
                     c * perImage * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, c, config.imageSeqLength(),
                     hidden);
             IoBinding b = new IoBinding(graph)) {
            b.BindInput(LlavaImageGraph.PIXEL_VALUES, in);
            b.BindOutput(LlavaImageGraph.IMAGE_FEATURES, out);
            graph.Run(run, b);
        }
        toDevice.add(pixelBytes);
    }

    /** Each row's features from the device block into host memory (a gather on the device). */
    private float[][][] readBack(DeviceFeatures features) {
        int n = features.rowOf().length;
        int positions = features.rows().positions();
        float[] flat = blocks.read(features.rows(), features.rowOf());
        float[][][] out = new float[n][positions][];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < positions; t++) {
                int from = (i * positions + t) * hidden;
                out[i][t] = Arrays.copyOfRange(flat, from, from + hidden);
            }
        }
        toDevice.add((long) n * Long.BYTES);
        toHost.add((long) flat.length * Float.BYTES);
        return out;
    }

    /** Images encoded and duplicate rows of a call; nothing is cached across calls. */
    @Override
    public VisionFeatureStats visionStats() {
        return new VisionFeatureStats(imagesEncoded.sum(), duplicateRows.sum(), 0, 0, 0, 0, 0);
    }

    /** Blocks of features in the device's memory not yet released (prefixes alive). */
    int liveFeatureBlocks() {
        return blocks.live();
    }

    @Override
    public HostTrafficStats traffic() {
        return HostTrafficStats.imageSide(toDevice.sum(), toHost.sum());
    }

    @Override
    public void close() {
        try {
            runs.close();
            blocks.close();
        } finally {
            graph.close();
            run.close();
        }
    }
}
