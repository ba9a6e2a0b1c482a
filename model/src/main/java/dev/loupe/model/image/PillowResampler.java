package dev.loupe.model.image;

import java.util.Objects;

/**
 * Resizes 8-bit RGB images bit-exactly as Pillow's {@code Image.resize} does for its convolution filters
 * (without {@code reducing_gap}), because Hugging Face image processors resize through Pillow and the
 * models were trained on those pixels.
 *
 * <p>Pillow resamples separably: a horizontal pass over the rows the vertical pass needs, then a vertical
 * pass. Each output position gets a window of input samples whose weights come from the filter evaluated
 * at the distance to the output pixel's centre; when shrinking, the filter is stretched by the scale
 * factor (antialiasing). Weights are normalised to sum to one in double precision, then rounded to signed
 * fixed point with 22 fractional bits; each sum starts at one half (rounding) and is clipped to 0..255.
 * A pass whose size does not change is skipped. Stateless and thread-safe.
 *
 * <p>The sums run in {@link Passes}: with the incubating Vector API where the JVM has it ({@link SimdResampling}),
 * else in the scalar loops below; the bytes are the same.
 */
public final class PillowResampler {

    /** Pillow's resampling filters that {@code resize} supports through this class. */
    public enum Filter {
        /** Pillow {@code Image.BILINEAR} (2): triangle filter, support 1. */
        BILINEAR(2, 1.0),
        /** Pillow {@code Image.BICUBIC} (3): Keys cubic with a = -0.5, support 2. */
        BICUBIC(3, 2.0);

        private final int pillowId;
        private final double support;

        Filter(int pillowId, double support) {
            this.pillowId = pillowId;
            this.support = support;
        }

        /** The filter with Pillow's numeric id, as written in {@code preprocessor_config.json}'s "resample". */
        public static Filter fromPillowId(int id) {
            for (Filter f : values()) {
                if (f.pillowId == id) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unsupported Pillow resample filter " + id
                    + " (supported: 2 = bilinear, 3 = bicubic)");
        }

        public int pillowId() {
            return pillowId;
        }

        double weight(double x) {
            double ax = Math.abs(x);
            switch (this) {
                case BILINEAR:
                    return ax < 1.0 ? 1.0 - ax : 0.0;
                case BICUBIC: {
                    final double a = -0.5;
                    if (ax < 1.0) {
                        return ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
                    }
                    if (ax < 2.0) {
                        return (((ax - 5) * ax + 8) * ax - 4) * a;
                    }
                    return 0.0;
                }
                default:
                    throw new AssertionError(this);
            }
        }
    }

    /** Fixed-point fraction bits of the weights, and the rounding half every sum starts from (also VectorPasses'). */
    static final int PRECISION_BITS = 32 - 8 - 2;
    static final int HALF = 1 << (PRECISION_BITS - 1);

    /**
     * The inner loops of the two passes over heap bytes. Every implementation gives Pillow's bytes; they differ in
     * speed only. The vector ones ({@link SimdResampling}) are used where the JVM can run them, else {@link #SCALAR}.
     */
    interface Passes {
        /** Rows {@code firstRow .. firstRow + rows - 1} of {@code in} resized to {@code outW}, into {@code out}. */
        void horizontal(RgbRows in, int firstRow, int rows, int outW, Coefficients c, byte[] out);

        /**
         * {@code src} holds rows of {@code 3 * w} bytes from input row {@code rowOffset} on; output rows
         * {@code 0 .. outH - 1} go to {@code out}.
         */
        void vertical(byte[] src, int w, int rowOffset, int outH, Coefficients c, byte[] out);
    }

    /** Pillow's loops in plain Java: what runs without the Vector API, and what the vector passes are tested against. */
    static final Passes SCALAR = new Passes() {
        @Override
        public void horizontal(RgbRows in, int firstRow, int rows, int outW, Coefficients c, byte[] out) {
            horizontalScalar(in, firstRow, rows, outW, c, out);
        }

        @Override
        public void vertical(byte[] src, int w, int rowOffset, int outH, Coefficients c, byte[] out) {
            verticalScalar(src, w, rowOffset, outH, c, out);
        }

        @Override
        public String toString() {
            return "scalar";
        }
    };

    /** This process's passes: the vector ones, once warmed up, where {@link SimdResampling} loaded them. */
    static final Passes DEFAULT_PASSES = SimdResampling.defaultPasses();

    private final Filter filter;
    private final Passes passes;

    /**
     * Starts warming up this process's vector passes now, on their background thread, instead of after its first
     * {@value SimdResampling#SCALAR_PASSES} scalar passes: for a caller that knows many images will follow (a
     * pipeline's inference operator, before it loads the model), so that the one-off warm-up (about a second of CPU,
     * mostly C2 compiling the Vector API code) overlaps its start-up rather than the model's first batches. Does
     * nothing where the scalar passes are the process's (no module, no C2, {@code -Dloupe.resample.simd=false}) or the
     * warm-up already started.
     */
    public static void warmUpInBackground() {
        if (DEFAULT_PASSES instanceof SimdResampling.Warming warming) {
            warming.startWarmUp();
        }
    }

    public PillowResampler(Filter filter) {
        this(filter, DEFAULT_PASSES);
    }

    /** With the given passes (tests compare them). */
    PillowResampler(Filter filter, Passes passes) {
        this.filter = Objects.requireNonNull(filter, "filter");
        this.passes = Objects.requireNonNull(passes, "passes");
    }

    public Filter filter() {
        return filter;
    }

    /** Resizes {@code in} to {@code width} x {@code height}; returns {@code in} itself when the size is unchanged. */
    public RgbImage resize(RgbImage in, int width, int height) {
        return resize(RgbRows.of(in), width, height);
    }

    /** Resizes rows converted on demand: a full-size RGB copy of {@code in} is never made when the width changes. */
    RgbImage resize(RgbRows in, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        }
        if (width == in.width && height == in.height) {
            return in.toImage();
        }
        Coefficients vertical = Coefficients.cached(in.height, height, filter);
        // Only the input rows that some output row reads.
        int first = vertical.start[0];
        int last = vertical.start[height - 1] + vertical.count[height - 1];
        byte[] src;
        int rowOffset;
        if (width != in.width) {
            Coefficients horizontal = Coefficients.cached(in.width, width, filter);
            int bytes = 3 * width * (last - first);
            // Only the vertical pass reads the horizontal pass's output when both run: a reused buffer will do.
            byte[] out = height != in.height ? Scratch.bytes(Scratch.PASS_OUTPUT, bytes) : new byte[bytes];
            passes.horizontal(in, first, last - first, width, horizontal, out);
            src = out;
            rowOffset = first;
        } else {
            src = in.array();
            rowOffset = 0;
            if (src == null) {
                // read by the vertical pass only
                src = Scratch.bytes(Scratch.PASS_OUTPUT, 3 * in.width * (last - first));
                for (int y = first; y < last; y++) {
                    in.row(y, src, 3 * in.width * (y - first));
                }
                rowOffset = first;
            }
        }
        if (height != in.height) {
            byte[] out = new byte[3 * width * height];
            passes.vertical(src, width, rowOffset, height, vertical, out);
            src = out;
        } else if (last - first != in.height) {
            throw new AssertionError("horizontal-only resize must keep every row");
        }
        return new RgbImage(width, height, src);
    }

    /*
     * Both passes sum integers, so the order of the terms does not change the result (Pillow's int32 sums wrap
     * the same way Java's do): the passes may walk the data in whatever order is fastest.
     */

    /** Windows at least this long are summed one channel at a time over planar rows, shorter ones interleaved. */
    private static final int PLANAR_MIN_TAPS = 24;

    /** Into {@code out} (at least {@code 3 * outW * rows} bytes, possibly longer). */
    private static void horizontalScalar(RgbRows in, int firstRow, int rows, int outW, Coefficients c, byte[] out) {
        if (c.ksize >= PLANAR_MIN_TAPS) {
            horizontalPlanar(in, firstRow, rows, outW, c, out);
        } else {
            horizontalInterleaved(in, firstRow, rows, outW, c, out);
        }
    }

    /** Either way of summing; both give the same bytes (tests compare them). */
    static byte[] horizontalPass(RgbRows in, int firstRow, int rows, int outW, Coefficients c, boolean planar) {
        byte[] out = new byte[rows * outW * 3];
        return planar ? horizontalPlanar(in, firstRow, rows, outW, c, out)
                : horizontalInterleaved(in, firstRow, rows, outW, c, out);
    }

    /**
     * Per thread, the passes' working buffers, one per {@code slot}: the horizontal pass's output where only the
     * vertical pass reads it (a third of the input image's bytes for a photo shrunk to model size), and the vector
     * passes' tile and its sums ({@link VectorPasses}): no new array, zeroed and later collected, per image. Buffers
     * over {@value #MAX_BYTES} bytes are not kept.
     */
    static final class Scratch {
        static final int MAX_BYTES = 4 << 20;
        /** The horizontal pass's output, read by the vertical pass. */
        static final int PASS_OUTPUT = 0;
        /** {@link VectorPasses}: input rows transposed into a tile, and the tile's sums. */
        static final int TILE = 1;
        static final int TILE_SUMS = 2;
        private static final ThreadLocal<byte[][]> BUFFERS = ThreadLocal.withInitial(() -> new byte[3][]);

        private Scratch() {}

        /** At least {@code n} bytes, contents undefined; valid until this thread's next call for {@code slot}. */
        static byte[] bytes(int slot, int n) {
            if (n > MAX_BYTES) {
                return new byte[n];
            }
            byte[][] kept = BUFFERS.get();
            if (kept[slot] == null || kept[slot].length < n) {
                kept[slot] = new byte[n];
            }
            return kept[slot];
        }
    }

    /** Short windows (little shrinking, or enlarging): the three channels summed together from interleaved rows. */
    private static byte[] horizontalInterleaved(RgbRows in, int firstRow, int rows, int outW, Coefficients c,
                                                byte[] out) {
        int srcW = in.width;
        byte[] whole = in.array();
        byte[] line = whole != null ? null : new byte[3 * srcW];
        int[] start = c.start;
        int[] count = c.count;
        int[] fixed = c.fixed;
        int ksize = c.ksize;
        for (int y = 0; y < rows; y++) {
            byte[] src;
            int srcRow;
            if (whole != null) {
                src = whole;
                srcRow = (y + firstRow) * srcW * 3;
            } else {
                in.row(y + firstRow, line, 0);
                src = line;
                srcRow = 0;
            }
            int o = y * outW * 3;
            for (int xx = 0; xx < outW; xx++, o += 3) {
                int n = count[xx];
                int kBase = xx * ksize;
                int p = srcRow + start[xx] * 3;
                int r = HALF;
                int g = HALF;
                int b = HALF;
                for (int i = 0; i < n; i++, p += 3) {
                    int k = fixed[kBase + i];
                    r += (src[p] & 0xFF) * k;
                    g += (src[p + 1] & 0xFF) * k;
                    b += (src[p + 2] & 0xFF) * k;
                }
                out[o] = clip8(r);
                out[o + 1] = clip8(g);
                out[o + 2] = clip8(b);
            }
        }
        return out;
    }

    /**
     * Long windows (a large photo shrunk to model size): each channel's sum is one contiguous dot product over a
     * planar row, about 15 % faster there than three interleaved sums (and slower on short windows).
     */
    private static byte[] horizontalPlanar(RgbRows in, int firstRow, int rows, int outW, Coefficients c, byte[] out) {
        int srcW = in.width;
        int[] red = new int[srcW];
        int[] green = new int[srcW];
        int[] blue = new int[srcW];
        byte[] scratch = new byte[3 * srcW];
        int[] start = c.start;
        int[] count = c.count;
        int[] fixed = c.fixed;
        int ksize = c.ksize;
        for (int y = 0; y < rows; y++) {
            in.planes(y + firstRow, red, green, blue, scratch);
            int o = y * outW * 3;
            for (int xx = 0; xx < outW; xx++, o += 3) {
                int n = count[xx];
                int kBase = xx * ksize;
                int p = start[xx];
                out[o] = clip8(dot(red, p, fixed, kBase, n));
                out[o + 1] = clip8(dot(green, p, fixed, kBase, n));
                out[o + 2] = clip8(dot(blue, p, fixed, kBase, n));
            }
        }
        return out;
    }

    /** One rounded fixed-point sum: {@code HALF + sum(samples[p + i] * fixed[kBase + i])} over n taps. */
    private static int dot(int[] samples, int p, int[] fixed, int kBase, int n) {
        int acc = HALF;
        for (int i = 0; i < n; i++) {
            acc += samples[p + i] * fixed[kBase + i];
        }
        return acc;
    }

    /**
     * {@code src} holds input rows starting at input row {@code rowOffset}. Each output row is accumulated tap by
     * tap over whole contiguous input rows, not pixel by pixel down the columns (C2 on JDK 17 does not vectorise it:
     * {@link VectorPasses} does).
     */
    private static void verticalScalar(byte[] src, int w, int rowOffset, int outH, Coefficients c, byte[] out) {
        int rowLen = w * 3;
        int[] acc = new int[rowLen];
        for (int yy = 0; yy < outH; yy++) {
            int start = c.start[yy] - rowOffset;
            int n = c.count[yy];
            int kBase = yy * c.ksize;
            java.util.Arrays.fill(acc, HALF);
            for (int i = 0; i < n; i++) {
                int k = c.fixed[kBase + i];
                int p = (start + i) * rowLen;
                for (int x = 0; x < rowLen; x++) {
                    acc[x] += (src[p + x] & 0xFF) * k;
                }
            }
            int o = yy * rowLen;
            for (int x = 0; x < rowLen; x++) {
                out[o + x] = clip8(acc[x]);
            }
        }
    }

    /** A sum's byte: shifted down, clipped to 0..255 (also VectorPasses' remainders). */
    static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Per output position: first input index, number of taps, and fixed-point weights (ksize per position). */
    static final class Coefficients {
        final int ksize;
        final int[] start;
        final int[] count;
        final int[] fixed;

        private Coefficients(int ksize, int[] start, int[] count, int[] fixed) {
            this.ksize = ksize;
            this.start = start;
            this.count = count;
            this.fixed = fixed;
        }

        private static final int CACHE_LIMIT = 256;
        private static final java.util.concurrent.ConcurrentHashMap<Long, Coefficients> CACHE =
                new java.util.concurrent.ConcurrentHashMap<>();

        /**
         * {@link #compute}, remembered per (input size, output size, filter): a service sees few distinct image
         * sizes, and the coefficients are immutable once built. The cache is emptied when it reaches
         * {@value #CACHE_LIMIT} entries, so unusual sizes cannot grow it without bound.
         */
        static Coefficients cached(int inSize, int outSize, Filter filter) {
            long key = ((long) inSize << 32) | ((long) outSize << 8) | filter.ordinal();
            Coefficients c = CACHE.get(key);
            if (c == null) {
                c = compute(inSize, outSize, filter);
                if (CACHE.size() >= CACHE_LIMIT) {
                    CACHE.clear();
                }
                CACHE.put(key, c);
            }
            return c;
        }

        static Coefficients compute(int inSize, int outSize, Filter filter) {
            // The box is the whole input: (0, inSize), as float in Pillow.
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support * filterScale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            int[] fixed = new int[outSize * ksize];
            double[] w = new double[ksize];
            double inverse = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double sum = 0.0;
                for (int x = 0; x < xmax; x++) {
                    w[x] = filter.weight((x + xmin - center + 0.5) * inverse);
                    sum += w[x];
                }
                for (int x = 0; x < xmax; x++) {
                    double k = sum != 0.0 ? w[x] / sum : w[x];
                    fixed[xx * ksize + x] = (int) (k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
                }
                start[xx] = xmin;
                count[xx] = Math.max(xmax, 0);
            }
            return new Coefficients(ksize, start, count, fixed);
        }
    }
}
