package dev.loupe.model.llm;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The decoder's key/value cache between steps: per layer one key and one value tensor
 * [batch, kv_heads, length, head_dim], kept in ONNX Runtime memory so a step feeds the previous step's outputs
 * back without copying them through Java (also holds an encoder-decoder's cross-attention keys and values). Owns its tensors (or the run result they came from): close it.
 */
public final class KvCache implements PackedDecoder.Caches {
    private final List<OnnxTensor> keys;
    private final List<OnnxTensor> values;
    private final int batch;
    private final int length;
    private final AutoCloseable owner;

    private KvCache(List<OnnxTensor> keys, List<OnnxTensor> values, int batch, int length, AutoCloseable owner) {
        this.keys = keys;
        this.values = values;
        this.batch = batch;
        this.length = length;
        this.owner = owner;
    }

    /** A cache holding nothing yet (length 0), for the first step. */
    public static KvCache empty(OrtEnvironment env, DecoderConfig config, int batch) throws OrtException {
        return empty(env, config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim(), batch);
    }

    /** An empty cache of {@code layers} key/value pairs [batch, heads, 0, headDim]. */
    public static KvCache empty(OrtEnvironment env, int layers, int heads, int headDim, int batch)
            throws OrtException {
        List<OnnxTensor> k = new ArrayList<>();
        List<OnnxTensor> v = new ArrayList<>();
        long[] shape = {batch, heads, 0, headDim};
        try {
            for (int i = 0; i < layers; i++) {
                k.add(OnnxTensor.createTensor(env, FloatBuffer.allocate(0), shape));
                v.add(OnnxTensor.createTensor(env, FloatBuffer.allocate(0), shape));
            }
        } catch (OrtException e) {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
            throw e;
        }
        return new KvCache(k, v, batch, 0, () -> {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
        });
    }

    /** Wraps the present.* outputs of a decoder run; the cache takes ownership of (and closes) the result. */
    static KvCache fromResult(OrtSession.Result result, int layers, int batch, int length) {
        return fromResult(result, layers, batch, length, LlamaGraphs::presentKey, LlamaGraphs::presentValue);
    }

    /**
     * Wraps the per-layer outputs {@code keyName(i)} / {@code valueName(i)} of a run (any graph's cache or
     * cross-attention keys/values); the cache takes ownership of (and closes) the result.
     */
    public static KvCache fromResult(OrtSession.Result result, int layers, int batch, int length,
                                     IntFunction<String> keyName, IntFunction<String> valueName) {
        List<OnnxTensor> k = new ArrayList<>();
        List<OnnxTensor> v = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            k.add((OnnxTensor) result.get(keyName.apply(i)).orElseThrow());
            v.add((OnnxTensor) result.get(valueName.apply(i)).orElseThrow());
        }
        return new KvCache(k, v, batch, length, result);
    }

    public int batch() {
        return batch;
    }

    /** Positions cached per row (past length of the next step). */
    public int length() {
        return length;
    }

    /** Layer {@code layer}'s keys, owned by this cache. */
    public OnnxTensor key(int layer) {
        return keys.get(layer);
    }

    /** Layer {@code layer}'s values, owned by this cache. */
    public OnnxTensor value(int layer) {
        return values.get(layer);
    }

    /**
     * A new cache holding only the given rows (in that order), e.g. the rows still generating. This cache stays
     * open and owned by the caller.
     */
    public KvCache selectRows(OrtEnvironment env, int[] rows) throws OrtException {
        List<OnnxTensor> k = new ArrayList<>();
        List<OnnxTensor> v = new ArrayList<>();
        try {
            for (int i = 0; i < keys.size(); i++) {
                k.add(gatherRows(env, keys.get(i), rows));
                v.add(gatherRows(env, values.get(i), rows));
            }
        } catch (OrtException | RuntimeException e) {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
            throw e;
        }
        return new KvCache(k, v, rows.length, length, () -> {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
        });
    }

    /**
     * A new cache of {@code length} positions per row whose row {@code i} is row {@code rows[i]} of
     * {@code sources.get(sourceOf[i])}, keeping that row's last {@code keep[i]} positions right-aligned and zeros
     * before them (positions the caller masks). Rows of caches of different lengths join one batch this way, and
     * columns that are padding for every row are dropped. The sources stay open and owned by the caller; the new
     * tensors live in direct buffers that ONNX Runtime reads in place.
     */
    public static KvCache pack(OrtEnvironment env, List<KvCache> sources, int[] sourceOf, int[] rows, int[] keep,
                               int length) throws OrtException {
        if (sourceOf.length != rows.length || keep.length != rows.length) {
            throw new IllegalArgumentException(rows.length + " rows, " + sourceOf.length + " sources, " + keep.length
                    + " kept lengths");
        }
        int[] from = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            from[i] = sources.get(sourceOf[i]).length - keep[i];
        }
        return pack(env, sources, sourceOf, rows, from, keep, length);
    }

    /**
     * As {@link #pack(OrtEnvironment, List, int[], int[], int[], int)}, row {@code i} keeping the {@code keep[i]}
     * positions from column {@code from[i]} of its source (e.g. an encoder's right-padded rows).
     */
    public static KvCache pack(OrtEnvironment env, List<KvCache> sources, int[] sourceOf, int[] rows, int[] from,
                               int[] keep, int length) throws OrtException {
        if (sourceOf.length != rows.length || keep.length != rows.length || from.length != rows.length) {
            throw new IllegalArgumentException(rows.length + " rows, " + sourceOf.length + " sources, " + keep.length
                    + " kept lengths, " + from.length + " starts");
        }
        for (int i = 0; i < rows.length; i++) {
            KvCache src = sources.get(sourceOf[i]);
            if (rows[i] < 0 || rows[i] >= src.batch || keep[i] < 0 || keep[i] > length || from[i] < 0
                    || from[i] + keep[i] > src.length) {
                throw new IllegalArgumentException("row " + i + ": source row " + rows[i] + " of " + src.batch
                        + ", keeping " + keep[i] + " positions from " + from[i] + " of " + src.length + " into "
                        + length);
            }
        }
        int layers = sources.get(0).keys.size();
        List<OnnxTensor> k = new ArrayList<>();
        List<OnnxTensor> v = new ArrayList<>();
        try {
            for (int layer = 0; layer < layers; layer++) {
                int at = layer;
                k.add(packLayer(env, sources, s -> s.keys.get(at), sourceOf, rows, from, keep, length));
                v.add(packLayer(env, sources, s -> s.values.get(at), sourceOf, rows, from, keep, length));
            }
        } catch (OrtException | RuntimeException e) {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
            throw e;
        }
        return new KvCache(k, v, rows.length, length, () -> {
            k.forEach(OnnxTensor::close);
            v.forEach(OnnxTensor::close);
        });
    }

    private static OnnxTensor packLayer(OrtEnvironment env, List<KvCache> sources,
                                        Function<KvCache, OnnxTensor> tensorOf, int[] sourceOf,
                                        int[] rows, int[] from, int[] keep, int length) throws OrtException {
        FloatBuffer[] data = new FloatBuffer[sources.size()];
        long[] shape = tensorOf.apply(sources.get(0)).getInfo().getShape();
        int heads = Math.toIntExact(shape[1]);
        int headDim = Math.toIntExact(shape[3]);
        FloatBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(rows.length * heads * length * headDim,
                Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < rows.length; i++) {
            KvCache src = sources.get(sourceOf[i]);
            if (data[sourceOf[i]] == null) {
                data[sourceOf[i]] = tensorOf.apply(src).getFloatBuffer();
            }
            FloatBuffer in = data[sourceOf[i]];
            int n = keep[i] * headDim;
            for (int h = 0; h < heads; h++) {
                int at = ((rows[i] * heads + h) * src.length + from[i]) * headDim;
                int to = ((i * heads + h) * length + length - keep[i]) * headDim;
                out.put(to, in, at, n);
            }
        }
        return OnnxTensor.createTensor(env, out, new long[] {rows.length, heads, length, headDim});
    }

    private OnnxTensor gatherRows(OrtEnvironment env, OnnxTensor t, int[] rows) throws OrtException {
        long[] shape = t.getInfo().getShape();
        int rowSize = Math.toIntExact(shape[1] * shape[2] * shape[3]);
        FloatBuffer src = t.getFloatBuffer();
        float[] out = new float[rows.length * rowSize];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r] < 0 || rows[r] >= batch) {
                throw new IllegalArgumentException("row " + rows[r] + " outside cache batch " + batch);
            }
            src.get(rows[r] * rowSize, out, r * rowSize, rowSize);
        }
        long[] newShape = shape.clone();
        newShape[0] = rows.length;
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(out), newShape);
    }

    @Override
    public void close() {
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing KV cache tensors failed", e);
        }
    }
}
