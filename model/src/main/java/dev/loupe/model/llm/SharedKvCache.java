package dev.loupe.model.llm;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.loupe.model.checkpoint.HalfFloats;
import java.nio.ByteBuffer;
import java.util.ArrayList;

/**
 * The KV cache of a fused decoder ({@link FusedLlamaGraphs}, {@link FusedOptGraphs}): per layer one key and one value
 * buffer [slots, kv_heads, capacity, head_dim] in direct memory that this cache owns. Each run passes the same memory
 * as the graph's past input and its pre-allocated present output, and GroupQueryAttention writes the new positions into
 * it in place, so a step copies nothing of the cache. A slot's cached positions are its first {@link #length} columns
 * (right padding); the columns after them hold nothing that is read. Slots are contiguous in memory, so any run of
 * consecutive slots is itself a [n, kv_heads, capacity, head_dim] tensor: rows join by a prefill written straight into
 * free slots, and leave without a repack of the others.
 * <p>Growing (more slots, a longer capacity) and reordering rows (beam search) copy the rows' cached positions only.
 * Not thread-safe; belongs to one generation. Close it to free the tensors over the buffers (the memory itself is
 * freed with the buffers).
 * <p>The elements are float32, or float16 for a decoder that computes in float16 (an fp16-compute package, whose past
 * inputs are float16): the cache only copies rows, so it handles both as bytes.
 */
public final class SharedKvCache extends SlotCache {
    private final OrtEnvironment env;
    private final KvBufferPool pool;
    private final int layers;
    private final int heads;
    private final int headDim;
    private final int maxCapacity;
    private final OnnxJavaType elementType;
    private final int elementBytes;
    private int slots;
    private int capacity;
    private ByteBuffer[] keys;
    private ByteBuffer[] values;
    /**
     * Tensors over slot ranges of the current buffers, kept for the next runs over the same ranges: the whole batch's,
     * or each part's when a step runs in parts ({@link SharedBufferDecoder}); the {@value #KEPT_VIEWS} ranges used
     * last.
     */
    private final ArrayList<KeptViews> kept = new ArrayList<>();
    /** Slot ranges whose views are kept: a run may use this many ranges at once (parts of a step). */
    static final int KEPT_VIEWS = 8;

    private record KeptViews(int first, int n, LayerViews views) {}

    /**
     * @param capacity    positions per slot to start with (grows on demand, up to {@code maxCapacity})
     * @param maxCapacity the model's longest sequence (its position table)
     */
    public SharedKvCache(OrtEnvironment env, DecoderConfig config, int slots, int capacity, int maxCapacity) {
        this(env, new KvBufferPool(), config, OnnxJavaType.FLOAT, slots, capacity, maxCapacity);
    }

    /**
     * A cache whose buffers come from (and go back to) {@code pool}, of {@code elementType} elements (FLOAT or
     * FLOAT16: the decoder's past input type).
     */
    SharedKvCache(OrtEnvironment env, KvBufferPool pool, DecoderConfig config, OnnxJavaType elementType, int slots,
                  int capacity, int maxCapacity) {
        super(slots);
        if (elementType != OnnxJavaType.FLOAT && elementType != OnnxJavaType.FLOAT16) {
            throw new IllegalArgumentException("KV cache elements must be FLOAT or FLOAT16, got " + elementType);
        }
        if (slots < 1 || capacity < 1 || capacity > maxCapacity) {
            throw new IllegalArgumentException(slots + " slots of " + capacity + " positions (at most "
                    + maxCapacity + ")");
        }
        this.env = env;
        this.pool = pool;
        this.layers = config.numHiddenLayers();
        this.heads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.maxCapacity = maxCapacity;
        this.elementType = elementType;
        this.elementBytes = elementType == OnnxJavaType.FLOAT ? Float.BYTES : Short.BYTES;
        this.slots = slots;
        this.capacity = Math.min(maxCapacity, roundUp(capacity));
        this.keys = allocate(slots, this.capacity);
        this.values = allocate(slots, this.capacity);
    }

    @Override
    public int slots() {
        return slots;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    /** The most positions a slot can hold (the model's position table). */
    @Override
    public int maxCapacity() {
        return maxCapacity;
    }

    @Override
    void grow(int newSlots, int newCapacity) {
        ByteBuffer[] k = allocate(newSlots, newCapacity);
        ByteBuffer[] v = allocate(newSlots, newCapacity);
        for (int layer = 0; layer < layers; layer++) {
            for (int s = 0; s < slots; s++) {
                copyRow(keys[layer], capacity, s, k[layer], newCapacity, s, length(s));
                copyRow(values[layer], capacity, s, v[layer], newCapacity, s, length(s));
            }
        }
        closeViews();
        release(keys);
        release(values);
        keys = k;
        values = v;
        slots = newSlots;
        capacity = newCapacity;
    }

    /** Slot {@code to} becomes a copy of slot {@code from} (its cached positions only). */
    @Override
    void copyRow(int from, int to) {
        for (int layer = 0; layer < layers; layer++) {
            copyRow(keys[layer], capacity, from, keys[layer], capacity, to, length(from));
            copyRow(values[layer], capacity, from, values[layer], capacity, to, length(from));
        }
    }

    @Override
    void gather(int[] rows) {
        for (int layer = 0; layer < layers; layer++) {
            ByteBuffer k = keys[layer];
            ByteBuffer v = values[layer];
            keys[layer] = gather(k, rows);
            values[layer] = gather(v, rows);
            pool.give(k);
            pool.give(v);
        }
        closeViews();
    }

    /** Layer tensors over slots [first, first + n) (valid until the cache grows, is reordered or closes). */
    OnnxTensor key(int layer, int first, int n) throws OrtException {
        return views(first, n).keys()[layer];
    }

    OnnxTensor value(int layer, int first, int n) throws OrtException {
        return views(first, n).values()[layer];
    }

    /**
     * Every layer's key and value tensors over slots [first, first + n), owned by the cache (valid until it grows, is
     * reordered or closes) and the same objects for the next runs over these slots, so a step makes none. Runs over
     * disjoint ranges may use them at the same time; get them on one thread before.
     */
    LayerViews views(int first, int n) throws OrtException {
        for (int i = kept.size() - 1; i >= 0; i--) {
            KeptViews k = kept.get(i);
            if (k.first() == first && k.n() == n) {
                kept.add(kept.remove(i)); // the last used at the end: up to KEPT_VIEWS ranges in use are never closed
                return k.views();
            }
        }
        LayerViews made = newViews(first, n);
        if (kept.size() == KEPT_VIEWS) {
            kept.remove(0).views().close();
        }
        kept.add(new KeptViews(first, n, made));
        return made;
    }

    /**
     * Every layer's key and value tensors over slots [first, first + n), for one run; the caller closes them
     * (before the cache grows, is reordered or closes). Runs over disjoint slots may use such views at the same time
     * ({@link SharedBufferDecoder}'s prefill in parts).
     */
    LayerViews newViews(int first, int n) throws OrtException {
        if (first < 0 || n < 1 || first + n > slots) {
            throw new IllegalArgumentException("slots [" + first + ", " + (first + n) + ") outside " + slots);
        }
        OnnxTensor[] k = new OnnxTensor[layers];
        OnnxTensor[] v = new OnnxTensor[layers];
        long[] shape = {n, heads, capacity, headDim};
        int rowSize = heads * capacity * headDim;
        try {
            for (int layer = 0; layer < layers; layer++) {
                k[layer] = OnnxTensor.createTensor(env, slice(keys[layer], first * rowSize, n * rowSize), shape,
                        elementType);
                v[layer] = OnnxTensor.createTensor(env, slice(values[layer], first * rowSize, n * rowSize), shape,
                        elementType);
            }
        } catch (OrtException | RuntimeException e) {
            closeAll(k);
            closeAll(v);
            throw e;
        }
        return new LayerViews(k, v);
    }

    /** Each layer's key and value tensor over some of the cache's slots ({@link #newViews}). */
    record LayerViews(OnnxTensor[] keys, OnnxTensor[] values) implements AutoCloseable {
        @Override
        public void close() {
            closeAll(keys);
            closeAll(values);
        }
    }

    /** Row {@code slot} of layer {@code layer}'s keys, [kv_heads, length, head_dim] (a copy; for tests). */
    float[] keyRow(int layer, int slot) {
        return row(keys[layer], slot);
    }

    /** Row {@code slot} of layer {@code layer}'s values, [kv_heads, length, head_dim] (a copy; for tests). */
    float[] valueRow(int layer, int slot) {
        return row(values[layer], slot);
    }

    private float[] row(ByteBuffer buffer, int slot) {
        int n = length(slot) * headDim;
        float[] out = new float[heads * n];
        for (int h = 0; h < heads; h++) {
            int base = ((slot * heads + h) * capacity) * headDim;
            for (int i = 0; i < n; i++) {
                int at = (base + i) * elementBytes;
                out[h * n + i] = elementBytes == Float.BYTES ? buffer.getFloat(at)
                        : HalfFloats.halfToFloat(buffer.getShort(at));
            }
        }
        return out;
    }

    private ByteBuffer gather(ByteBuffer from, int[] rows) {
        ByteBuffer to = pool.take(bytes(slots * heads * capacity * headDim));
        for (int i = 0; i < rows.length; i++) {
            copyRow(from, capacity, rows[i], to, capacity, i, length(rows[i]));
        }
        return to;
    }

    private void copyRow(ByteBuffer from, int fromCapacity, int fromSlot, ByteBuffer to, int toCapacity,
                         int toSlot, int length) {
        int n = bytes(length * headDim);
        for (int h = 0; h < heads; h++) {
            to.put(bytes(((toSlot * heads + h) * toCapacity) * headDim), from,
                    bytes(((fromSlot * heads + h) * fromCapacity) * headDim), n);
        }
    }

    private ByteBuffer[] allocate(int slotCount, int positions) {
        ByteBuffer[] out = new ByteBuffer[layers];
        for (int layer = 0; layer < layers; layer++) {
            out[layer] = pool.take(bytes(Math.multiplyExact(Math.multiplyExact(slotCount, heads), positions * headDim)));
        }
        return out;
    }

    private int bytes(int elements) {
        return Math.multiplyExact(elements, elementBytes);
    }

    private void release(ByteBuffer[] buffers) {
        for (ByteBuffer b : buffers) {
            pool.give(b);
        }
    }

    /** Elements [from, from + n) of b as a buffer of their own (native order, as ONNX Runtime reads it). */
    private ByteBuffer slice(ByteBuffer b, int from, int n) {
        return b.duplicate().position(bytes(from)).limit(bytes(from + n)).slice().order(b.order());
    }

    private void closeViews() {
        kept.forEach(k -> k.views().close());
        kept.clear();
    }

    private static void closeAll(OnnxTensor[] tensors) {
        for (OnnxTensor t : tensors) {
            if (t != null) {
                t.close();
            }
        }
    }

    /** Frees the tensors over the buffers and hands the buffers back to the pool; the cache is unusable after. */
    @Override
    public void close() {
        closeViews();
        if (keys != null) {
            release(keys);
            release(values);
            keys = null;
            values = null;
        }
    }
}
