package dev.loupe.model.llm;

import java.util.Arrays;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Value;

/**
 * {@link SharedKvCache}'s layout in the execution provider's memory ({@link DeviceMemory}): per layer one key and
 * one value buffer [slots, kv_heads, capacity, head_dim] of the decoder's past element type ({@link DeviceKvElement}:
 * float32, or float16 in fp16-compute packages), allocated from the provider's allocator (GPU memory on
 * CUDA), bound as both the past input and the present output of every run, so GroupQueryAttention writes the new
 * positions in place and nothing of the cache ever crosses to the host. Growing, reordering and moving rows run on
 * the device ({@link DeviceMemory#regather}, {@link DeviceMemory#copy}). Not thread-safe; belongs to one generation.
 */
final class DeviceKvCache extends SlotCache {
    private final DeviceMemory memory;
    private final int layers;
    private final int heads;
    private final int headDim;
    private final int maxCapacity;
    private int slots;
    private int capacity;
    /** Key of layer i at 2i, its value at 2i + 1. */
    private Pointer[] buffers;
    private Value[] views;
    private int viewFirst;
    private int viewCount;

    DeviceKvCache(DeviceMemory memory, DecoderConfig config, int slots, int capacity, int maxCapacity) {
        super(slots);
        if (slots < 1 || capacity < 1 || capacity > maxCapacity) {
            throw new IllegalArgumentException(slots + " slots of " + capacity + " positions (at most "
                    + maxCapacity + ")");
        }
        this.memory = memory;
        this.layers = config.numHiddenLayers();
        this.heads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.maxCapacity = maxCapacity;
        this.slots = slots;
        this.capacity = Math.min(maxCapacity, roundUp(capacity));
        this.buffers = allocate(slots, this.capacity);
    }

    @Override
    public int slots() {
        return slots;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int maxCapacity() {
        return maxCapacity;
    }

    @Override
    void grow(int newSlots, int newCapacity) {
        int[] all = new int[slots];
        Arrays.setAll(all, i -> i);
        replace(all, newSlots, newCapacity);
    }

    @Override
    void copyRow(int from, int to) {
        long slotElements = (long) heads * capacity * headDim;
        Value[] source = new Value[buffers.length];
        Value[] target = new Value[buffers.length];
        try {
            for (int i = 0; i < buffers.length; i++) {
                source[i] = memory.elements(buffers[i], from * slotElements, slotElements, slotElements);
                target[i] = memory.elements(buffers[i], to * slotElements, slotElements, slotElements);
            }
            memory.copy(source, target);
        } finally {
            closeAll(source);
            closeAll(target);
        }
    }

    @Override
    void gather(int[] rows) {
        replace(rows, slots, capacity);
    }

    /** New buffers of {@code newSlots} x {@code newCapacity}: slot i = old slot rows[i], the rest empty. */
    private void replace(int[] rows, int newSlots, int newCapacity) {
        Pointer[] fresh = allocate(newSlots, newCapacity);
        Value[] from = new Value[buffers.length];
        Value[] to = new Value[buffers.length];
        try {
            long oldElements = (long) slots * heads * capacity * headDim;
            long newElements = (long) newSlots * heads * newCapacity * headDim;
            for (int i = 0; i < buffers.length; i++) {
                from[i] = memory.elements(buffers[i], 0, oldElements, slots, heads, capacity, headDim);
                to[i] = memory.elements(fresh[i], 0, newElements, newSlots, heads, newCapacity, headDim);
            }
            memory.regather(from, to, rows, newSlots - rows.length, newCapacity - capacity);
        } catch (RuntimeException e) {
            free(fresh);
            throw e;
        } finally {
            closeAll(from);
            closeAll(to);
        }
        closeViews();
        free(buffers);
        buffers = fresh;
        slots = newSlots;
        capacity = newCapacity;
    }

    /** Key tensor of {@code layer} over slots [first, first + n) (valid until the cache changes shape or closes). */
    Value key(int layer, int first, int n) {
        views(first, n);
        return views[2 * layer];
    }

    Value value(int layer, int first, int n) {
        views(first, n);
        return views[2 * layer + 1];
    }

    private void views(int first, int n) {
        if (first < 0 || n < 1 || first + n > slots) {
            throw new IllegalArgumentException("slots [" + first + ", " + (first + n) + ") outside " + slots);
        }
        if (views != null && viewFirst == first && viewCount == n) {
            return;
        }
        closeViews();
        long slotElements = (long) heads * capacity * headDim;
        Value[] v = new Value[buffers.length];
        try {
            for (int i = 0; i < buffers.length; i++) {
                v[i] = memory.elements(buffers[i], first * slotElements, n * slotElements, n, heads, capacity, headDim);
            }
        } catch (RuntimeException e) {
            closeAll(v);
            throw e;
        }
        views = v;
        viewFirst = first;
        viewCount = n;
    }

    private Pointer[] allocate(int slotCount, int positions) {
        Pointer[] out = new Pointer[2 * layers];
        long bytes = (long) slotCount * heads * positions * headDim * memory.element().bytes();
        try {
            for (int i = 0; i < out.length; i++) {
                out[i] = memory.allocate(bytes);
            }
        } catch (RuntimeException e) {
            free(out);
            throw e;
        }
        return out;
    }

    private void free(Pointer[] ps) {
        for (Pointer p : ps) {
            if (p != null) {
                memory.free(p);
            }
        }
    }

    private void closeViews() {
        if (views != null) {
            closeAll(views);
            views = null;
        }
    }

    private static void closeAll(Value[] values) {
        for (Value v : values) {
            if (v != null) {
                v.close();
            }
        }
    }

    /** Frees the views and hands the buffers back to the device allocator; the cache is unusable after. */
    @Override
    public void close() {
        closeViews();
        if (buffers != null) {
            free(buffers);
            buffers = null;
        }
    }
}
