package dev.loupe.model.image;

/** libjpeg-turbo's reduced-size inverse DCTs (jidctred.c) and their range limit, as the 1/8-scale decode uses them. */
final class ReducedIdct {
    private ReducedIdct() {
    }

    /** libjpeg's {@code IDCT_range_limit} table applied to {@code x & 1023}: x + 128 clamped to 0..255. */
    static byte rangeLimit(int x) {
        int t = x & 1023;
        if (t < 128) {
            return (byte) (t + 128);
        }
        if (t < 384) {
            return (byte) 255;
        }
        if (t < 896) {
            return 0;
        }
        return (byte) (t - 896);
    }

    /** libjpeg's {@code jpeg_idct_1x1}: the block mean. */
    static byte idct1x1(short dc, int quant) {
        int v = dc * (short) quant;
        return rangeLimit((v + 4) >> 3);
    }

    private static final int CONST_BITS = 13;
    private static final int PASS1_BITS = 2;
    private static final long FIX_0_720959822 = 5906;
    private static final long FIX_0_850430095 = 6967;
    private static final long FIX_1_272758580 = 10426;
    private static final long FIX_3_624509785 = 29692;

    /** libjpeg-turbo's {@code jpeg_idct_2x2} (jidctred.c), writing 2x2 samples at {@code out[at]}. */
    static void idct2x2(int[] coef, int[] quant, int[] ws, byte[] out, int at, int stride) {
        for (int col = 0; col < 8; col++) {
            if (col == 2 || col == 4 || col == 6) {
                continue;
            }
            if (coef[8 + col] == 0 && coef[24 + col] == 0 && coef[40 + col] == 0 && coef[56 + col] == 0) {
                int dc = coef[col] * (short) quant[col] << PASS1_BITS;
                ws[col] = dc;
                ws[8 + col] = dc;
                continue;
            }
            long tmp10 = (long) (coef[col] * (short) quant[col]) << (CONST_BITS + 2);
            long tmp0 = (long) (coef[56 + col] * (short) quant[56 + col]) * -FIX_0_720959822
                    + (long) (coef[40 + col] * (short) quant[40 + col]) * FIX_0_850430095
                    + (long) (coef[24 + col] * (short) quant[24 + col]) * -FIX_1_272758580
                    + (long) (coef[8 + col] * (short) quant[8 + col]) * FIX_3_624509785;
            ws[col] = (int) descale(tmp10 + tmp0, CONST_BITS - PASS1_BITS + 2);
            ws[8 + col] = (int) descale(tmp10 - tmp0, CONST_BITS - PASS1_BITS + 2);
        }
        for (int row = 0; row < 2; row++) {
            int w = 8 * row;
            int o = at + row * stride;
            if (ws[w + 1] == 0 && ws[w + 3] == 0 && ws[w + 5] == 0 && ws[w + 7] == 0) {
                byte v = rangeLimit((int) descale(ws[w], PASS1_BITS + 3));
                out[o] = v;
                out[o + 1] = v;
                continue;
            }
            long tmp10 = (long) ws[w] << (CONST_BITS + 2);
            long tmp0 = ws[w + 7] * -FIX_0_720959822 + ws[w + 5] * FIX_0_850430095
                    + ws[w + 3] * -FIX_1_272758580 + ws[w + 1] * FIX_3_624509785;
            out[o] = rangeLimit((int) descale(tmp10 + tmp0, CONST_BITS + PASS1_BITS + 3 + 2));
            out[o + 1] = rangeLimit((int) descale(tmp10 - tmp0, CONST_BITS + PASS1_BITS + 3 + 2));
        }
    }

    private static long descale(long x, int n) {
        return (x + (1L << (n - 1))) >> n;
    }
}
