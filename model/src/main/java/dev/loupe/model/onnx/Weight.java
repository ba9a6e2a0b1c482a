package dev.loupe.model.onnx;

import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A float tensor destined to be a graph initializer, produced lazily and piecewise when the model file is written.
 * Its values are read by element ranges ({@link #read}), so that {@link OnnxModelWriter} streams a checkpoint tensor
 * of any size through a small buffer: checkpoint tensors are decoded straight from the memory-mapped file, and
 * {@link #transposed()} transposes tile by tile, never holding the whole tensor on the heap.
 */
public final class Weight {
    /** Output elements per tile side when transposing (64 x 64 floats fit the L1 cache). */
    private static final int TILE = 64;
    /** Elements per chunk the writer asks for when the source has no better size. */
    private static final int DEFAULT_CHUNK = 1 << 20;

    private final long[] dims;
    private final Source source;

    /** Random access to a tensor's values in row-major order. */
    private interface Source {
        /** Copies values [start, start + len) into dst[off..]. */
        void read(long start, float[] dst, int off, int len);

        /** A chunk size (in elements) that this source reads efficiently. */
        default int preferredChunk() {
            return DEFAULT_CHUNK;
        }

        /** Drops mapped buffers or materialised values held between reads. */
        default void release() {}
    }

    private Weight(long[] dims, Source source) {
        this.dims = dims.clone();
        this.source = source;
    }

    public static Weight of(float[] values, long... dims) {
        long n = count(dims);
        if (n != values.length) {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " need " + n + " values, got "
                    + values.length);
        }
        return new Weight(dims, (start, dst, off, len) -> System.arraycopy(values, Math.toIntExact(start), dst, off, len));
    }

    /** A checkpoint tensor as stored, decoded to float32 from the mapped file range by range. */
    public static Weight of(SafetensorsCheckpoint checkpoint, String tensor) {
        long[] shape = checkpoint.info(tensor).shape();
        return new Weight(shape, new CheckpointSource(checkpoint, tensor));
    }

    /** Values computed in one piece when first read (for small derived tensors such as a fused bias). */
    public static Weight lazy(Supplier<float[]> values, long... dims) {
        long n = count(dims);
        return new Weight(dims, new Source() {
            private float[] v;

            @Override
            public void read(long start, float[] dst, int off, int len) {
                if (v == null) {
                    v = values.get();
                    if (v.length != n) {
                        throw new IllegalStateException("weight produced " + v.length + " values for dims "
                                + Arrays.toString(dims));
                    }
                }
                System.arraycopy(v, Math.toIntExact(start), dst, off, len);
            }

            @Override
            public void release() {
                v = null;
            }
        });
    }

    public long[] dims() {
        return dims.clone();
    }

    /** The number of values. */
    public long elementCount() {
        return count(dims);
    }

    /** All values in one array: for small tensors and tests; the writer streams with {@link #read} instead. */
    public float[] values() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("weight " + Arrays.toString(dims) + " is too large for one array");
        }
        float[] out = new float[(int) n];
        read(0, out, 0, out.length);
        source.release();
        return out;
    }

    /** Copies values [start, start + len) (row-major) into dst[off..]. */
    public void read(long start, float[] dst, int off, int len) {
        if (start < 0 || len < 0 || start + len > elementCount()) {
            throw new IndexOutOfBoundsException("range [" + start + ", " + (start + len) + ") of a weight with "
                    + elementCount() + " values");
        }
        source.read(start, dst, off, len);
    }

    /** A chunk length, in elements, that reads efficiently (whole transposed tiles, for example). */
    public int preferredChunk() {
        return source.preferredChunk();
    }

    /** Lets go of mapped buffers or cached values once the weight has been written. */
    public void release() {
        source.release();
    }

    /** The transpose of a 2-D weight: turns a torch Linear weight [out, in] into a MatMul operand [in, out]. */
    public Weight transposed() {
        if (dims.length != 2) {
            throw new IllegalStateException("transposed() needs a 2-D weight, got " + Arrays.toString(dims));
        }
        if (source instanceof TransposedSource t) { // the transpose of a transpose reads the original directly
            return new Weight(new long[] {dims[1], dims[0]}, t.in);
        }
        return new Weight(new long[] {dims[1], dims[0]}, new TransposedSource(source, dims[0], dims[1]));
    }

    /** The same values under other dims with the same element count. */
    public Weight reshaped(long... newDims) {
        if (count(dims) != count(newDims)) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(dims) + " to " + Arrays.toString(newDims));
        }
        return new Weight(newDims, source);
    }

    /** Rows [from, to) of the first dimension: splits fused weights such as qkv. */
    public Weight rows(long from, long to) {
        if (from < 0 || to < from || to > dims[0]) {
            throw new IllegalArgumentException("rows [" + from + ", " + to + ") of " + Arrays.toString(dims));
        }
        long rowSize = count(dims) / Math.max(1, dims[0]);
        long[] nd = dims.clone();
        nd[0] = to - from;
        long base = from * rowSize;
        Source src = source;
        return new Weight(nd, new Source() {
            @Override
            public void read(long start, float[] dst, int off, int len) {
                src.read(base + start, dst, off, len);
            }

            @Override
            public int preferredChunk() {
                return src.preferredChunk();
            }

            @Override
            public void release() {
                src.release();
            }
        });
    }

    /**
     * The parts one after another along the first dimension (their other dimensions equal): torch Linear weights
     * [out_i, in] stacked into one [sum out_i, in], so that a graph multiplies an input by all of them in one MatMul
     * (q, k and v; gate and up). Reads that cross a boundary are served part by part.
     */
    public static Weight stacked(Weight... parts) {
        if (parts.length == 0) {
            throw new IllegalArgumentException("nothing to stack");
        }
        long[] nd = parts[0].dims();
        long[] starts = new long[parts.length + 1];
        for (int i = 0; i < parts.length; i++) {
            long[] d = parts[i].dims();
            if (d.length != nd.length || d.length == 0
                    || !Arrays.equals(Arrays.copyOfRange(d, 1, d.length), Arrays.copyOfRange(nd, 1, nd.length))) {
                throw new IllegalArgumentException("cannot stack " + Arrays.toString(d) + " under "
                        + Arrays.toString(parts[0].dims()));
            }
            starts[i + 1] = starts[i] + parts[i].elementCount();
        }
        nd[0] = Arrays.stream(parts).mapToLong(p -> p.dims()[0]).sum();
        Source[] sources = Arrays.stream(parts).map(p -> p.source).toArray(Source[]::new);
        return new Weight(nd, new Source() {
            @Override
            public void read(long start, float[] dst, int off, int len) {
                long end = start + len;
                for (int i = 0; i < sources.length && start < end; i++) {
                    if (start < starts[i + 1]) {
                        int n = (int) (Math.min(end, starts[i + 1]) - start);
                        sources[i].read(start - starts[i], dst, off, n);
                        start += n;
                        off += n;
                    }
                }
            }

            @Override
            public int preferredChunk() {
                return Arrays.stream(sources).mapToInt(Source::preferredChunk).min().orElse(DEFAULT_CHUNK);
            }

            @Override
            public void release() {
                for (Source s : sources) {
                    s.release();
                }
            }
        });
    }

    private static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Decodes a mapped checkpoint tensor (F32, F16 or BF16); the mapping is held from first read to release. */
    private static final class CheckpointSource implements Source {
        private final SafetensorsCheckpoint checkpoint;
        private final String tensor;
        private SafetensorsCheckpoint.FloatReader reader;

        CheckpointSource(SafetensorsCheckpoint checkpoint, String tensor) {
            this.checkpoint = checkpoint;
            this.tensor = tensor;
        }

        @Override
        public void read(long start, float[] dst, int off, int len) {
            if (reader == null) {
                reader = checkpoint.floatReader(tensor);
            }
            reader.read(start, dst, off, len);
        }

        @Override
        public void release() {
            reader = null;
        }
    }

    /**
     * The transpose of a [rows, cols] source, read as [cols, rows]. A request is served tile by tile: TILE short
     * runs of TILE source columns are read per tile and written out transposed, so the source is read once per
     * chunk of whole output rows and only a tile sits in a scratch buffer.
     */
    private static final class TransposedSource implements Source {
        private final Source in;
        private final long rows;
        private final long cols;
        private final float[] tile = new float[TILE * TILE];

        TransposedSource(Source in, long rows, long cols) {
            this.in = in;
            this.rows = rows;
            this.cols = cols;
        }

        @Override
        public void read(long start, float[] dst, int off, int len) {
            if (len == 0) {
                return;
            }
            long end = start + len;
            long firstOut = start / rows;          // output row = source column
            long lastOut = (end - 1) / rows;
            for (long c0 = firstOut; c0 <= lastOut; c0 += TILE) {
                int cw = (int) Math.min(TILE, lastOut + 1 - c0);
                // all source rows, except for a single output row at either end of the request
                long rFrom = cw == 1 && c0 == firstOut ? start % rows : 0;
                long rTo = cw == 1 && c0 == lastOut ? (end - 1) % rows + 1 : rows;
                for (long r0 = rFrom; r0 < rTo; r0 += TILE) {
                    int rh = (int) Math.min(TILE, rTo - r0);
                    for (int i = 0; i < rh; i++) {
                        in.read((r0 + i) * cols + c0, tile, i * cw, cw);
                    }
                    for (int j = 0; j < cw; j++) {
                        long outBase = (c0 + j) * rows + r0 - start;
                        for (int i = 0; i < rh; i++) {
                            long o = outBase + i;
                            if (o >= 0 && o < len) {
                                dst[off + (int) o] = tile[i * cw + j];
                            }
                        }
                    }
                }
            }
        }

        @Override
        public int preferredChunk() {
            long chunk = TILE * rows;
            return (int) Math.min(Math.max(chunk, TILE), 1 << 24);
        }

        @Override
        public void release() {
            in.release();
        }
    }
}
