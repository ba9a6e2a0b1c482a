package dev.loupe.model.image;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PillowResampler}'s two passes with the incubating Vector API: the same int32 sums of
 * {@code (byte & 0xFF) * fixed} from one half, {@code >> 22}, clipped, in another order (integer addition is
 * associative, and Pillow's sums stay within int32), so the same bytes. Loaded only by {@link SimdResampling}, only
 * when the JVM has the module.
 *
 * <p>A vector of {@code LANES} ints (16 with AVX-512, 8 with AVX2) is widened from a byte vector of as many lanes
 * and multiplied by one weight: both passes become "a weighted sum of contiguous byte runs".
 * <ul>
 *   <li>Vertical: an output row is a weighted sum of whole input rows, so each run of output samples is
 *       accumulated tap by tap from contiguous input bytes, four vectors at a time kept in registers across the
 *       taps.</li>
 *   <li>Horizontal: LANES input rows at a time are transposed into a tile where each input sample position holds
 *       its LANES rows side by side; an output sample of all LANES rows is then the vertical kernel's sum over the
 *       window's positions (one vector per channel), and the results are transposed back. Gathers instead (per-lane
 *       window offsets in a row widened to ints) measured 3 times slower than this on the AMD EPYC it was written
 *       on, the scalar transposes costing less than the sums they save.</li>
 * </ul>
 * The loops are split into small methods on purpose: C2 stops inlining the Vector API's methods once a compiled
 * method grows past its inlining budget, and a vector operation not inlined allocates (a loop written as one method
 * measured 20 times slower).
 */
final class VectorPasses implements PillowResampler.Passes {
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = INTS.length();
    /** Bytes with as many lanes as {@link #INTS}: widening one gives one int vector. */
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * 8)));
    private static final int PRECISION_BITS = PillowResampler.PRECISION_BITS;
    private static final int HALF = PillowResampler.HALF;

    private VectorPasses() {}

    /** The passes, or a sentence saying why they would not pay here (called reflectively by SimdResampling). */
    public static Object create() {
        if (INTS.vectorBitSize() < 256) {
            return "the CPU's preferred vector is " + INTS.vectorBitSize() + " bits (at least 256 needed)";
        }
        return new VectorPasses();
    }

    @Override
    public String toString() {
        return INTS.vectorBitSize() + "-bit, " + LANES + " int lanes";
    }

    /** LANES bytes from {@code a[offset]}, zero-extended to ints. */
    private static IntVector widen(byte[] a, int offset) {
        return ((IntVector) ByteVector.fromArray(BYTES, a, offset).convertShape(VectorOperators.B2I, INTS, 0))
                .lanewise(VectorOperators.AND, 0xFF);
    }

    /** Pillow's {@code clip8} of each lane, stored as LANES bytes at {@code out[offset]}. */
    private static void store(IntVector acc, byte[] out, int offset) {
        IntVector v = acc.lanewise(VectorOperators.ASHR, PRECISION_BITS).max(0).min(255);
        ((ByteVector) v.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(out, offset);
    }

    @Override
    public void vertical(byte[] src, int w, int rowOffset, int outH, PillowResampler.Coefficients c, byte[] out) {
        int rowLen = 3 * w;
        for (int yy = 0; yy < outH; yy++) {
            int first = (c.start[yy] - rowOffset) * rowLen;
            int n = c.count[yy];
            int kBase = yy * c.ksize;
            int o = yy * rowLen;
            int x = verticalQuads(src, rowLen, first, n, c.fixed, kBase, out, o);
            x = verticalSingles(src, rowLen, first, n, c.fixed, kBase, out, o, x);
            for (; x < rowLen; x++) {
                int acc = HALF;
                for (int i = 0, p = first + x; i < n; i++, p += rowLen) {
                    acc += (src[p] & 0xFF) * c.fixed[kBase + i];
                }
                out[o + x] = PillowResampler.clip8(acc);
            }
        }
    }

    /** One output row's samples in runs of 4 * LANES from the row's start; returns where they stopped. */
    private static int verticalQuads(byte[] src, int rowLen, int first, int n, int[] fixed, int kBase, byte[] out,
                                     int o) {
        int x = 0;
        for (; x + 4 * LANES <= rowLen; x += 4 * LANES) {
            IntVector a0 = IntVector.broadcast(INTS, HALF);
            IntVector a1 = a0;
            IntVector a2 = a0;
            IntVector a3 = a0;
            for (int i = 0, p = first + x; i < n; i++, p += rowLen) {
                int k = fixed[kBase + i];
                a0 = a0.add(widen(src, p).mul(k));
                a1 = a1.add(widen(src, p + LANES).mul(k));
                a2 = a2.add(widen(src, p + 2 * LANES).mul(k));
                a3 = a3.add(widen(src, p + 3 * LANES).mul(k));
            }
            store(a0, out, o + x);
            store(a1, out, o + x + LANES);
            store(a2, out, o + x + 2 * LANES);
            store(a3, out, o + x + 3 * LANES);
        }
        return x;
    }

    /** As {@link #verticalQuads}, in runs of LANES from {@code x}. */
    private static int verticalSingles(byte[] src, int rowLen, int first, int n, int[] fixed, int kBase, byte[] out,
                                       int o, int x) {
        for (; x + LANES <= rowLen; x += LANES) {
            IntVector a = IntVector.broadcast(INTS, HALF);
            for (int i = 0, p = first + x; i < n; i++, p += rowLen) {
                a = a.add(widen(src, p).mul(fixed[kBase + i]));
            }
            store(a, out, o + x);
        }
        return x;
    }

    @Override
    public void horizontal(RgbRows in, int firstRow, int rows, int outW, PillowResampler.Coefficients c, byte[] out) {
        int rowLen = 3 * in.width;
        int outLen = 3 * outW;
        byte[] whole = in.array();
        byte[] line = whole != null ? null : new byte[rowLen];
        byte[] tile = PillowResampler.Scratch.bytes(PillowResampler.Scratch.TILE, rowLen * LANES);
        byte[] sums = PillowResampler.Scratch.bytes(PillowResampler.Scratch.TILE_SUMS, outLen * LANES);
        for (int y0 = 0; y0 < rows; y0 += LANES) {
            int n = Math.min(LANES, rows - y0); // a last, partial tile leaves older rows in the other lanes, unused
            for (int r = 0; r < n; r++) {
                if (whole != null) {
                    toColumn(whole, (firstRow + y0 + r) * rowLen, rowLen, tile, r);
                } else {
                    in.row(firstRow + y0 + r, line, 0);
                    toColumn(line, 0, rowLen, tile, r);
                }
            }
            horizontalTile(tile, outW, c.start, c.count, c.fixed, c.ksize, sums);
            for (int r = 0; r < n; r++) {
                fromColumn(sums, r, out, (y0 + r) * outLen, outLen);
            }
        }
    }

    /** Row bytes {@code src[s .. s + len - 1]} into lane {@code r} of the tile: byte j goes to {@code j * LANES + r}. */
    private static void toColumn(byte[] src, int s, int len, byte[] tile, int r) {
        for (int j = 0, t = r; j < len; j++, t += LANES) {
            tile[t] = src[s + j];
        }
    }

    /** The inverse of {@link #toColumn}: lane {@code r} of {@code len} positions into {@code dst[d ..]}. */
    private static void fromColumn(byte[] tile, int r, byte[] dst, int d, int len) {
        for (int j = 0, t = r; j < len; j++, t += LANES) {
            dst[d + j] = tile[t];
        }
    }

    /** Every output position's three channels for the tile's LANES rows: position xx's sums at {@code 3 * xx * LANES}. */
    private static void horizontalTile(byte[] tile, int outW, int[] start, int[] count, int[] fixed, int ksize,
                                       byte[] sums) {
        int stride = 3 * LANES;
        for (int xx = 0; xx < outW; xx++) {
            int n = count[xx];
            int kBase = xx * ksize;
            IntVector r = IntVector.broadcast(INTS, HALF);
            IntVector g = r;
            IntVector b = r;
            for (int i = 0, p = start[xx] * stride; i < n; i++, p += stride) {
                int k = fixed[kBase + i];
                r = r.add(widen(tile, p).mul(k));
                g = g.add(widen(tile, p + LANES).mul(k));
                b = b.add(widen(tile, p + 2 * LANES).mul(k));
            }
            int o = xx * stride;
            store(r, sums, o);
            store(g, sums, o + LANES);
            store(b, sums, o + 2 * LANES);
        }
    }
}
