package dev.loupe.model.onnx;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A float tensor destined to be a graph initializer, produced lazily when the model file is written, so that a
 * converter holds at most one checkpoint tensor on the heap at a time.
 */
public final class Weight {
    private final long[] dims;
    private final Supplier<float[]> values;

    private Weight(long[] dims, Supplier<float[]> values) {
        this.dims = dims.clone();
        this.values = values;
    }

    public static Weight of(float[] values, long... dims) {
        long n = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        if (n != values.length) {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " need " + n + " values, got "
                    + values.length);
        }
        return new Weight(dims, () -> values);
    }

    /** A checkpoint tensor as stored (converted to float32). */
    public static Weight of(SafetensorsCheckpoint checkpoint, String tensor) {
        long[] shape = checkpoint.info(tensor).shape();
        return new Weight(shape, () -> checkpoint.floats(tensor));
    }

    public static Weight lazy(Supplier<float[]> values, long... dims) {
        return new Weight(dims, values);
    }

    public long[] dims() {
        return dims.clone();
    }

    public float[] values() {
        float[] v = values.get();
        long n = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        if (v.length != n) {
            throw new IllegalStateException("weight produced " + v.length + " values for dims " + Arrays.toString(dims));
        }
        return v;
    }

    /** The transpose of a 2-D weight: turns a torch Linear weight [out, in] into a MatMul operand [in, out]. */
    public Weight transposed() {
        if (dims.length != 2) {
            throw new IllegalStateException("transposed() needs a 2-D weight, got " + Arrays.toString(dims));
        }
        int rows = Math.toIntExact(dims[0]);
        int cols = Math.toIntExact(dims[1]);
        Supplier<float[]> src = values;
        return new Weight(new long[] {cols, rows}, () -> {
            float[] in = src.get();
            float[] out = new float[in.length];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    out[c * rows + r] = in[r * cols + c];
                }
            }
            return out;
        });
    }

    /** The same values under other dims with the same element count. */
    public Weight reshaped(long... newDims) {
        long a = Arrays.stream(dims).reduce(1, (x, y) -> x * y);
        long b = Arrays.stream(newDims).reduce(1, (x, y) -> x * y);
        if (a != b) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(dims) + " to " + Arrays.toString(newDims));
        }
        return new Weight(newDims, values);
    }

    /** Rows [from, to) of the first dimension: splits fused weights such as qkv. */
    public Weight rows(long from, long to) {
        long rowSize = 1;
        for (int i = 1; i < dims.length; i++) {
            rowSize *= dims[i];
        }
        long[] nd = dims.clone();
        nd[0] = to - from;
        long rs = rowSize;
        Supplier<float[]> src = values;
        return new Weight(nd, () -> Arrays.copyOfRange(src.get(), Math.toIntExact(from * rs), Math.toIntExact(to * rs)));
    }
}
