package dev.loupe.model.instructblip;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

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
import dev.loupe.model.onnx.RowsPerRun;
import dev.loupe.model.vision.ImageDigest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * The InstructBLIP / BLIP-2 image side for the device-bound decoder runner: the vision and Q-Former graphs run
 * through ONNX Runtime's C++ API with IoBinding, and the vision output — the image side's largest tensor (257 x 1,408
 * floats per image for the 7B models) — is written into a buffer in the execution provider's memory that the Q-Former
 * reads as its bound input, so it never crosses to the host (through the Java API it would come back and go out again:
 * every {@code OnnxTensor} is host memory). The projected queries stay there too, in one block per call
 * ({@link DeviceRows}, shared by the rows' {@link VisualPrefix}es, freed when the last is closed), which the
 * device-bound decoder's prefill reads ({@link #prefixes}); so per call only the pixels, the Q-Former instructions
 * and, where rows repeat an image, the row indices go in, and nothing comes back ({@link #traffic()}).
 *
 * <p>Each distinct image of a call runs the vision graph once (rows with the same image are gathered on the device
 * for InstructBLIP's per-row Q-Former; BLIP-2's instruction-free Q-Former runs once per distinct image). Unlike the
 * Java-API image side, features are not kept across calls: that cache lives in host memory. Rows do not interact, so
 * a row's result equals the Java-API image side's for the same row. One code path for CPU and CUDA: on CPU the device
 * memory is CPU memory. Thread-safe; owns its sessions.
 */
final class BoundImageSide implements QueryEncoder {
    private final InstructBlipConfig config;
    /** Images per vision run, as {@link ImageEncoder} runs them ({@link RowsPerRun}). */
    private final int visionRunImages;
    private final Session vision;
    private final Session qformer;
    private final DeviceBlocks blocks;
    private final MemoryInfo device;
    private final MemoryInfo host;
    private final RunOptions run = new RunOptions();
    private final LongAdder toDevice = new LongAdder();
    private final LongAdder toHost = new LongAdder();
    private final LongAdder imagesEncoded = new LongAdder();
    private final LongAdder duplicateRows = new LongAdder();

    private BoundImageSide(InstructBlipConfig config, Session vision, Session qformer, DeviceBlocks blocks,
                           int visionRunImages) {
        this.config = config;
        this.visionRunImages = visionRunImages;
        this.vision = vision;
        this.qformer = qformer;
        this.blocks = blocks;
        this.device = blocks.device();
        this.host = blocks.host();
    }

    /** Opens the package's vision and Q-Former graphs on {@code options}' device. */
    static BoundImageSide open(Path visionOnnx, Path qformerOnnx, InstructBlipConfig config, RuntimeOptions options)
            throws IOException {
        List<Session> opened = new ArrayList<>();
        DeviceBlocks blocks = null;
        try {
            opened.add(BoundSessions.open(visionOnnx, options));
            opened.add(BoundSessions.open(qformerOnnx, options));
            blocks = DeviceBlocks.open(opened.get(0), options);
            return new BoundImageSide(config, opened.get(0), opened.get(1), blocks,
                    RowsPerRun.of(visionOnnx, ImageEncoder.VISION_RUN_IMAGES));
        } catch (IOException | RuntimeException e) {
            if (blocks != null) {
                blocks.close();
            }
            opened.forEach(Session::close);
            throw e;
        }
    }

    /**
     * Per row, the projected queries read back into Java memory (stage parity checks; generation reads them on the
     * device through {@link #prefixes}).
     */
    @Override
    public float[][][] encode(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        DeviceQueries queries = queriesOnDevice(images, qformerIds);
        try {
            return split(readBack(queries), images.size());
        } catch (RuntimeException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        } finally {
            queries.rows().release();
        }
    }

    /**
     * Per row, its queries left in the device's memory (one block for the call, shared by its rows) followed by
     * {@code text[i]}: nothing of the image side comes back to the host; the decoder's prefill reads the block.
     */
    @Override
    public List<VisualPrefix> prefixes(List<ImageTensor> images, long[][] qformerIds, float[][][] text)
            throws AnnotationException {
        if (text.length != images.size()) {
            throw new IllegalArgumentException(images.size() + " images, " + text.length + " prompts");
        }
        DeviceQueries queries = queriesOnDevice(images, qformerIds);
        List<VisualPrefix> prefixes = new ArrayList<>(images.size());
        try {
            for (int i = 0; i < images.size(); i++) {
                prefixes.add(VisualPrefix.onDevice(queries.rows(), queries.rowOf()[i], text[i]));
            }
            return prefixes;
        } catch (RuntimeException e) {
            VisualPrefix.closeAll(prefixes);
            throw e;
        } finally {
            queries.rows().release();
        }
    }

    /** A call's projected queries in the device's memory, and each row's index into them. */
    private record DeviceQueries(DeviceRows rows, int[] rowOf) {}

    /**
     * The image side of a call up to the projected queries, which stay in a device block (its first reference the
     * caller's): one vision run per distinct image; InstructBLIP's Q-Former per row (repeated images gathered on the
     * device), BLIP-2's per distinct image (its rows index the image's queries).
     */
    private DeviceQueries queriesOnDevice(List<ImageTensor> images, long[][] qformerIds) throws AnnotationException {
        QFormerInstructions.check(config, images, qformerIds);
        int n = images.size();
        Map<ImageDigest, Integer> index = new HashMap<>();
        List<ImageTensor> distinct = new ArrayList<>();
        long[] slot = new long[n];
        for (int i = 0; i < n; i++) {
            ImageTensor image = images.get(i);
            if (image == null) {
                throw new AnnotationException(ErrorCode.INVALID_REQUEST, "row " + i + " has no image");
            }
            Integer known = index.putIfAbsent(ImageDigest.of(image), distinct.size());
            slot[i] = known == null ? distinct.size() : known;
            if (known == null) {
                distinct.add(image);
            }
        }
        int d = distinct.size();
        long perImage = (long) config.vision().numPositions() * config.vision().hiddenSize();
        int k = config.numQueryTokens();
        int dim = config.languageHiddenSize();
        Pointer embeds = null;
        Pointer gathered = null;
        Pointer queries = null;
        try {
            embeds = allocate(d * perImage * Float.BYTES);
            for (int from = 0; from < d; from += visionRunImages) {
                runVision(distinct.subList(from, Math.min(d, from + visionRunImages)), from, embeds,
                        perImage);
            }
            imagesEncoded.add(d);
            duplicateRows.add(n - d);
            int[] rowOf = new int[n];
            int blockRows;
            if (!config.qformerTextInput()) { // BLIP-2: the queries depend on the image only
                blockRows = d;
                queries = allocate((long) d * k * dim * Float.BYTES);
                runQFormer(embeds, d, perImage, QFormerInstructions.pad(config, new long[d][0]), queries);
                for (int i = 0; i < n; i++) {
                    rowOf[i] = (int) slot[i];
                }
            } else {
                Pointer rows = embeds;
                if (d < n) {
                    gathered = allocate(n * perImage * Float.BYTES);
                    gatherRows(embeds, d, slot, gathered);
                    rows = gathered;
                }
                blockRows = n;
                queries = allocate((long) n * k * dim * Float.BYTES);
                runQFormer(rows, n, perImage, QFormerInstructions.pad(config, qformerIds), queries);
                for (int i = 0; i < n; i++) {
                    rowOf[i] = i;
                }
            }
            DeviceRows out = blocks.rows(queries, blockRows, k, dim);
            queries = null; // the block's now
            return new DeviceQueries(out, rowOf);
        } catch (RuntimeException e) {
            throw new AnnotationException(ErrorCode.INFERENCE_FAILED, "image encoder failed: " + e.getMessage(), e);
        } finally {
            free(embeds);
            free(gathered);
            free(queries);
        }
    }

    /** Each row's queries from the device block into host memory, flat [rows, k, dim] (a gather on the device). */
    private float[] readBack(DeviceQueries queries) {
        float[] out = blocks.read(queries.rows(), queries.rowOf());
        toDevice.add((long) queries.rowOf().length * Long.BYTES);
        toHost.add((long) out.length * Float.BYTES);
        return out;
    }

    /** The vision graph over {@code images} into images [first, first + n) of the device buffer {@code embeds}. */
    private void runVision(List<ImageTensor> images, int first, Pointer embeds, long perImage)
            throws AnnotationException {
        int c = images.size();
        int size = config.vision().imageSize();
        float[] pixels = ImageEncoder.stackPixels(config, images, first);
        long pixelBytes = (long) pixels.length * Float.BYTES;
        try (FloatPointer px = new FloatPointer(pixels);
             Value in = BoundSessions.tensor(host, px, 0, pixelBytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, c, 3, size,
                     size);
             Value out = BoundSessions.tensor(device, embeds, first * perImage * Float.BYTES,
                     c * perImage * Float.BYTES, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, c,
                     config.vision().numPositions(), config.vision().hiddenSize());
             IoBinding b = new IoBinding(vision)) {
            b.BindInput(VisionGraph.PIXEL_VALUES, in);
            b.BindOutput(VisionGraph.IMAGE_EMBEDS, out);
            vision.Run(run, b);
        }
        toDevice.add(pixelBytes);
    }

    /** Row i of {@code to} becomes image {@code slot[i]} of {@code from}, on the device. */
    private void gatherRows(Pointer from, int images, long[] slot, Pointer to) {
        toDevice.add(blocks.gather(from, images, slot, device, to, config.vision().numPositions(),
                config.vision().hiddenSize()));
    }

    /**
     * The Q-Former over {@code rows} vision outputs on the device and their instructions (host): the projected
     * queries, [rows, num_query_tokens, llm_hidden], its only output bound, into the device block {@code queries}.
     */
    private void runQFormer(Pointer embeds, int rows, long perImage, QFormerInstructions text, Pointer queries) {
        int k = config.numQueryTokens();
        int dim = config.languageHiddenSize();
        long outFloats = (long) rows * k * dim;
        long textBytes = (long) text.ids().length * Long.BYTES;
        try (LongPointer ids = new LongPointer(text.ids());
             LongPointer mask = new LongPointer(text.mask());
             Value e = BoundSessions.tensor(device, embeds, 0, rows * perImage * Float.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, rows, config.vision().numPositions(),
                     config.vision().hiddenSize());
             Value idT = BoundSessions.tensor(host, ids, 0, textBytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, rows,
                     text.width());
             Value maskT = BoundSessions.tensor(host, mask, 0, textBytes, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, rows,
                     text.width());
             Value out = BoundSessions.tensor(device, queries, 0, outFloats * Float.BYTES,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, rows, k, dim);
             IoBinding b = new IoBinding(qformer)) {
            b.BindInput(QFormerGraph.IMAGE_EMBEDS, e);
            if (config.qformerTextInput()) {
                b.BindInput(QFormerGraph.INPUT_IDS, idT);
                b.BindInput(QFormerGraph.ATTENTION_MASK, maskT);
                toDevice.add(2 * textBytes);
            }
            b.BindOutput(QFormerGraph.LANGUAGE_INPUTS, out);
            qformer.Run(run, b);
        }
    }

    private float[][][] split(float[] flat, int n) {
        int k = config.numQueryTokens();
        int dim = config.languageHiddenSize();
        float[][][] out = new float[n][k][dim];
        for (int b = 0; b < n; b++) {
            for (int t = 0; t < k; t++) {
                System.arraycopy(flat, (b * k + t) * dim, out[b][t], 0, dim);
            }
        }
        return out;
    }

    private Pointer allocate(long bytes) {
        return blocks.allocate(bytes);
    }

    private void free(Pointer p) {
        blocks.free(p);
    }

    /** Images encoded and duplicate rows of a call; nothing is cached across calls. */
    @Override
    public VisionFeatureStats visionStats() {
        return new VisionFeatureStats(imagesEncoded.sum(), duplicateRows.sum(), 0, 0, 0, 0, 0);
    }

    /** Blocks of projected queries in the device's memory not yet released (prefixes alive). */
    int liveQueryBlocks() {
        return blocks.live();
    }

    @Override
    public HostTrafficStats traffic() {
        return HostTrafficStats.imageSide(toDevice.sum(), toHost.sum());
    }

    @Override
    public void close() {
        try {
            blocks.close();
        } finally {
            qformer.close();
            vision.close();
            run.close();
        }
    }
}
