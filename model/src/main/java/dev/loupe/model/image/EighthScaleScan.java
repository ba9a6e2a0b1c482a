package dev.loupe.model.image;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Entropy decoding of the one scan, the inverse DCTs at 1/8, and the colour conversion. */
final class EighthScaleScan {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final byte[] b;
    private final JpegFrame f;
    /** Bit buffer, next bit in bit 63. */
    private long acc;
    /** Valid bits in {@link #acc}, zero bits appended after a marker included. */
    private int bits;
    /** Next byte to read. */
    private int pos;
    /** Zero bits appended since the data ran into a marker; using any of them is libjpeg's JWRN_HIT_MARKER. */
    private int padding;
    private boolean atMarker;
    private boolean bad;

    EighthScaleScan(byte[] b, JpegFrame f) {
        this.b = b;
        this.f = f;
        this.pos = f.dataStart;
    }

    /**
     * Fills {@link #acc} with whole bytes, to at least 56 bits (libjpeg's byte stuffing undone; zeros once a marker
     * is hit).
     */
    private void fill() {
        if (bits > 55) {
            return; // no whole byte fits
        }
        if (!atMarker && pos + 8 <= b.length) {
            long x = (long) LONG_BE.get(b, pos);
            long inverted = ~x;
            // No 0xFF byte among the eight: take as many whole bytes as fit in one go.
            if (((inverted - 0x0101010101010101L) & ~inverted & 0x8080808080808080L) == 0) {
                int take = (63 - bits) >> 3;
                acc |= (x >>> (64 - 8 * take)) << (64 - bits - 8 * take);
                bits += 8 * take;
                pos += take;
                return;
            }
        }
        while (bits <= 56) {
            int c = 0;
            if (!atMarker) {
                if (pos >= b.length) {
                    atMarker = true; // no marker at all: the file is truncated
                } else {
                    c = b[pos] & 0xFF;
                    if (c == 0xFF) {
                        int next = pos + 1 < b.length ? b[pos + 1] & 0xFF : -1;
                        if (next == 0) {
                            pos += 2;
                        } else {
                            atMarker = true;
                            c = 0;
                        }
                    } else {
                        pos++;
                    }
                }
            }
            if (atMarker) {
                padding += 8;
            }
            acc |= (long) c << (56 - bits);
            bits += 8;
        }
    }

    /** Decodes a symbol whose code is longer than the look-up's (or invalid: sets {@link #bad}). */
    private int slowSymbol(JpegHuffmanTable t) {
        for (int l = JpegHuffmanTable.LOOKUP_BITS + 1; l <= 16; l++) {
            int code = (int) (acc >>> (64 - l));
            if (code <= t.maxCode[l]) {
                acc <<= l;
                bits -= l;
                return t.symbols[code + t.valOffset[l]];
            }
        }
        bad = true; // libjpeg's JWRN_HUFF_BAD_CODE
        return 0;
    }

    /** The next {@code s} bits as libjpeg's HUFF_EXTEND makes them a signed value (s in 1..15). */
    private int receiveExtend(int s) {
        int v = (int) (acc >>> (64 - s));
        acc <<= s;
        bits -= s;
        return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
    }

    private int dcDiff(JpegHuffmanTable t) {
        if (bits < 32) {
            fill();
        }
        int e = t.lookup[(int) (acc >>> (64 - JpegHuffmanTable.LOOKUP_BITS))];
        int s;
        if (e != 0) {
            acc <<= e & 0xFF;
            bits -= e & 0xFF;
            s = e >>> 8;
        } else {
            s = slowSymbol(t);
        }
        return s == 0 ? 0 : receiveExtend(s);
    }

    /**
     * Skips a block's AC coefficients: several at a time through {@link JpegHuffmanTable#skipGroup} while the group
     * keeps the index under 64 (libjpeg stops a block there even without an end-of-block code), one at a time
     * otherwise.
     */
    private void skipAc(JpegHuffmanTable t) {
        char[] groups = t.skipGroup;
        int[] single = t.skip;
        long acc = this.acc;
        int bits = this.bits;
        int k = 1;
        while (true) {
            if (bits < 32) {
                int p = pos;
                long x;
                if (p + 8 <= b.length && !atMarker
                        && (((~(x = (long) LONG_BE.get(b, p))) - 0x0101010101010101L) & x & 0x8080808080808080L)
                        == 0) {
                    int take = (63 - bits) >> 3;
                    acc |= (x >>> (64 - 8 * take)) << (64 - bits - 8 * take);
                    bits += 8 * take;
                    pos = p + take;
                } else {
                    this.acc = acc;
                    this.bits = bits;
                    fill();
                    acc = this.acc;
                    bits = this.bits;
                }
            }
            int e = groups[(int) (acc >>> (64 - JpegHuffmanTable.GROUP_BITS))];
            int advance = (e >>> 8) & 0x7F;
            if (k + advance < 64) {
                acc <<= e & 0xFF;
                bits -= e & 0xFF;
                if ((e & JpegHuffmanTable.GROUP_END_OF_BLOCK) != 0) {
                    break;
                }
                k += advance;
                continue;
            }
            e = single[(int) (acc >>> (64 - JpegHuffmanTable.LOOKUP_BITS))];
            if (e != 0) {
                acc <<= e & 0xFF;
                bits -= e & 0xFF;
                advance = e >>> 8;
            } else {
                this.acc = acc;
                this.bits = bits;
                int sym = slowSymbol(t);
                acc = this.acc;
                bits = this.bits;
                int s = sym & 15;
                int r = sym >> 4;
                if (s != 0) {
                    acc <<= s;
                    bits -= s;
                }
                advance = s != 0 ? r + 1 : r == 15 ? 16 : 0;
            }
            if (advance == 0) {
                break;
            }
            k += advance;
            if (k >= 64) {
                break;
            }
        }
        this.acc = acc;
        this.bits = bits;
    }

    /** Decodes a block's AC coefficients into {@code block} (natural order, zeroed by the caller). */
    private void decodeAc(JpegHuffmanTable t, int[] block) {
        int[] lookup = t.lookup;
        for (int k = 1; k < 64; k++) {
            if (bits < 32) {
                fill();
            }
            int e = lookup[(int) (acc >>> (64 - JpegHuffmanTable.LOOKUP_BITS))];
            int sym;
            if (e != 0) {
                acc <<= e & 0xFF;
                bits -= e & 0xFF;
                sym = e >>> 8;
            } else {
                sym = slowSymbol(t);
            }
            int s = sym & 15;
            int r = sym >> 4;
            if (s != 0) {
                k += r;
                block[JpegFrame.NATURAL[k]] = (short) receiveExtend(s);
            } else {
                if (r != 15) {
                    return;
                }
                k += 15;
            }
        }
    }

    /**
     * At a restart marker or the end of the scan: whether the data ended there as libjpeg expects (fewer than 8
     * unused bits, no zero padding used, the next marker {@code expected}); on success the bit buffer is emptied
     * and the marker passed.
     */
    private boolean endOfSegment(int expected) {
        if (!atMarker) {
            fill();
        }
        int unused = bits - padding;
        if (bad || !atMarker || unused < 0 || unused >= 8 || pos + 1 >= b.length
                || (b[pos + 1] & 0xFF) != expected) {
            return false;
        }
        pos += 2;
        acc = 0;
        bits = 0;
        padding = 0;
        atMarker = false;
        return true;
    }

    RgbRows decode() {
        int m = f.lumaSampling;
        int mcuSize = 8 * m;
        int mcusX = (f.width + mcuSize - 1) / mcuSize;
        int mcusY = (f.height + mcuSize - 1) / mcuSize;
        int outW = (f.width + 7) / 8;
        int outH = (f.height + 7) / 8;
        // Planes at 1/8 scale over whole MCUs: luma and (4:2:0, through the 2x2 IDCT) chroma both give m x m
        // samples per MCU.
        int stride = mcusX * m;
        int planeSize = stride * mcusY * m;
        byte[] luma = new byte[planeSize];
        boolean colour = f.components == 3;
        byte[] cb = colour ? new byte[planeSize] : null;
        byte[] cr = colour ? new byte[planeSize] : null;
        int lumaQ = f.quant[0][0];
        JpegHuffmanTable lumaDc = f.dc[0];
        JpegHuffmanTable lumaAc = f.ac[0];
        int[] block = new int[64];
        int[] workspace = new int[16];
        int[] last = new int[3];
        int restartsToGo = f.restartInterval;
        int nextRestart = 0;
        for (int my = 0; my < mcusY; my++) {
            for (int mx = 0; mx < mcusX; mx++) {
                if (f.restartInterval != 0) {
                    if (restartsToGo == 0) {
                        if (!endOfSegment(0xD0 + nextRestart)) {
                            return null;
                        }
                        nextRestart = (nextRestart + 1) & 7;
                        last[0] = last[1] = last[2] = 0;
                        restartsToGo = f.restartInterval;
                    }
                    restartsToGo--;
                }
                for (int by = 0; by < m; by++) {
                    for (int bx = 0; bx < m; bx++) {
                        last[0] += dcDiff(lumaDc);
                        skipAc(lumaAc);
                        luma[(my * m + by) * stride + mx * m + bx] = ReducedIdct.idct1x1((short) last[0], lumaQ);
                    }
                }
                if (colour) {
                    for (int c = 1; c < 3; c++) {
                        last[c] += dcDiff(f.dc[c]);
                        byte[] plane = c == 1 ? cb : cr;
                        int at = my * m * stride + mx * m;
                        if (m == 1) {
                            skipAc(f.ac[c]);
                            plane[at] = ReducedIdct.idct1x1((short) last[c], f.quant[c][0]);
                        } else {
                            Arrays.fill(block, 0);
                            block[0] = (short) last[c];
                            decodeAc(f.ac[c], block);
                            ReducedIdct.idct2x2(block, f.quant[c], workspace, plane, at, stride);
                        }
                    }
                }
                if (bad) {
                    return null;
                }
            }
        }
        if (!endOfSegment(0xD9)) {
            return null;
        }
        return colour ? toRgb(luma, cb, cr, stride, outW, outH) : grey(luma, stride, outW, outH);
    }

    private static RgbRows toRgb(byte[] y, byte[] cb, byte[] cr, int stride, int w, int h) {
        byte[] rgb = new byte[3 * w * h];
        for (int row = 0, o = 0; row < h; row++) {
            for (int x = 0, p = row * stride; x < w; x++, p++, o += 3) {
                JpegColour.yccToRgb(y[p] & 0xFF, cb[p] & 0xFF, cr[p] & 0xFF, rgb, o);
            }
        }
        return RgbRows.of(new RgbImage(w, h, rgb));
    }

    private static RgbRows grey(byte[] y, int stride, int w, int h) {
        byte[] out = new byte[w * h];
        for (int row = 0; row < h; row++) {
            System.arraycopy(y, row * stride, out, row * w, w);
        }
        return RgbRows.grey(w, h, out);
    }
}
