package dev.loupe.model.image;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decodes a baseline JPEG at 1/8 scale in Java, giving the pixels libjpeg-turbo gives at 1/8 (and so Pillow's
 * {@code Image.draft}), faster: at 1/8 a luma pixel is its block's DC term, so of the luma's AC coefficients only
 * the Huffman codes' lengths matter; this decoder skips each AC symbol with one table look-up of its code and
 * value bits together, where libjpeg-turbo decodes code and value bits separately. Huffman decoding is nearly all of
 * a reduced decode's time on a camera photo (the file's megabytes of coefficients), so this is what makes the
 * reduced path cheaper.
 *
 * <p>It follows libjpeg-turbo 2.x step by step where that decides the pixels: at 1/8 scale 4:2:0 chroma gets a
 * 2x2 inverse DCT (libjpeg's {@code jpeg_idct_2x2}: libjpeg scales chroma up by IDCT rather than by upsampling),
 * luma and 4:4:4 chroma the block mean ({@code jpeg_idct_1x1}), then libjpeg's fixed-point YCbCr-to-RGB. It takes
 * only what it can decode as libjpeg does: sequential Huffman (SOF0/SOF1), 8-bit, one interleaved scan, grey or
 * YCbCr with 4:2:0 or 4:4:4 sampling, plain JFIF or no colour markers. For anything else, and wherever libjpeg would
 * warn (a bad Huffman code, data running into a marker, bytes before a restart marker or after the scan, a wrong
 * restart number), it returns null and the caller decodes the file its usual way, so damaged files get
 * libjpeg-turbo's verdict. Stateless and thread-safe.
 */
final class EighthScaleJpegDecoder {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    /** Bits of the code prefix that the look-up tables resolve in one step; longer codes are decoded bit by bit. */
    private static final int LOOKUP_BITS = 10;
    /** Bits of the window in which {@link Huffman#skipGroup} skips several AC coefficients at once. */
    private static final int GROUP_BITS = 14;
    private static final int GROUP_END_OF_BLOCK = 1 << 15;
    private static final int NO_GROUP = 127;
    /** Zig-zag index to natural (row-major) index, with libjpeg's 16 extra entries for corrupt runs past 63. */
    private static final int[] NATURAL = new int[64 + 16];

    static {
        int[] zigzag = {0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
                20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45,
                38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};
        System.arraycopy(zigzag, 0, NATURAL, 0, 64);
        for (int i = 64; i < NATURAL.length; i++) {
            NATURAL[i] = 63;
        }
    }

    private EighthScaleJpegDecoder() {
    }

    /**
     * The image at 1/8 scale ({@code ceil(width / 8) x ceil(height / 8)}), or null when this decoder does not take
     * the file (see the class comment); never throws on bad input.
     */
    static RgbRows decode(byte[] jpeg) {
        try {
            Frame frame = Frame.parse(jpeg);
            return frame == null ? null : new Scan(jpeg, frame).decode();
        } catch (RuntimeException e) { // index arithmetic on a damaged file: let libjpeg-turbo judge it
            return null;
        }
    }

    /** The header's size, when {@link #decode} would take the file; null otherwise. */
    static int[] size(byte[] jpeg) {
        try {
            Frame frame = Frame.parse(jpeg);
            return frame == null ? null : new int[]{frame.width, frame.height};
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The marker segments up to the scan: tables, frame and scan header. */
    private static final class Frame {
        int width;
        int height;
        int components;
        /** 1 (grey, 4:4:4) or 2 (4:2:0): luma's sampling factor, both directions. */
        int lumaSampling;
        final int[][] quant = new int[3][];
        final Huffman[] dc = new Huffman[3];
        final Huffman[] ac = new Huffman[3];
        int restartInterval;
        /** Offset of the first byte of entropy-coded data. */
        int dataStart;

        static Frame parse(byte[] b) {
            if (b.length < 4 || (b[0] & 0xFF) != 0xFF || (b[1] & 0xFF) != 0xD8) {
                return null;
            }
            int[][] quantTables = new int[4][];
            int[][] dcCounts = new int[4][];
            int[][] acCounts = new int[4][];
            int[][] dcSymbols = new int[4][];
            int[][] acSymbols = new int[4][];
            int[] quantIndex = null;
            int[] ids = null;
            Frame f = new Frame();
            int pos = 2;
            while (true) {
                if (pos + 4 > b.length || (b[pos] & 0xFF) != 0xFF) {
                    return null;
                }
                int marker = b[pos + 1] & 0xFF;
                if (marker == 0xFF) {
                    pos++;
                    continue;
                }
                int length = u16(b, pos + 2);
                int body = pos + 4;
                int end = pos + 2 + length;
                if (length < 2 || end > b.length) {
                    return null;
                }
                switch (marker) {
                    case 0xDB: // DQT
                        while (body < end) {
                            int pq = (b[body] & 0xFF) >> 4;
                            int tq = b[body] & 0x0F;
                            int bytes = pq == 0 ? 64 : 128;
                            if (pq > 1 || tq > 3 || body + 1 + bytes > end) {
                                return null;
                            }
                            int[] q = new int[64];
                            for (int i = 0; i < 64; i++) {
                                // libjpeg keeps quantizers as 16-bit values and multiplies them as signed shorts.
                                q[NATURAL[i]] = pq == 0 ? b[body + 1 + i] & 0xFF : (short) u16(b, body + 1 + 2 * i);
                            }
                            quantTables[tq] = q;
                            body += 1 + bytes;
                        }
                        break;
                    case 0xC4: // DHT
                        while (body < end) {
                            int tc = (b[body] & 0xFF) >> 4;
                            int th = b[body] & 0x0F;
                            if (tc > 1 || th > 3 || body + 17 > end) {
                                return null;
                            }
                            int[] counts = new int[17];
                            int total = 0;
                            for (int l = 1; l <= 16; l++) {
                                counts[l] = b[body + l] & 0xFF;
                                total += counts[l];
                            }
                            if (total > 256 || body + 17 + total > end) {
                                return null;
                            }
                            int[] symbols = new int[total];
                            for (int i = 0; i < total; i++) {
                                symbols[i] = b[body + 17 + i] & 0xFF;
                            }
                            (tc == 0 ? dcCounts : acCounts)[th] = counts;
                            (tc == 0 ? dcSymbols : acSymbols)[th] = symbols;
                            body += 17 + total;
                        }
                        break;
                    case 0xC0: // SOF0 baseline
                    case 0xC1: // SOF1 extended sequential, Huffman
                        if (ids != null || length < 8 || (b[body] & 0xFF) != 8) {
                            return null;
                        }
                        f.height = u16(b, body + 1);
                        f.width = u16(b, body + 3);
                        f.components = b[body + 5] & 0xFF;
                        if (f.width == 0 || f.height == 0 || (f.components != 1 && f.components != 3)
                                || length != 8 + 3 * f.components) {
                            return null;
                        }
                        ids = new int[f.components];
                        quantIndex = new int[f.components];
                        for (int c = 0; c < f.components; c++) {
                            int at = body + 6 + 3 * c;
                            ids[c] = b[at] & 0xFF;
                            int h = (b[at + 1] & 0xFF) >> 4;
                            int v = b[at + 1] & 0x0F;
                            quantIndex[c] = b[at + 2] & 0xFF;
                            if (quantIndex[c] > 3 || h != v || h < 1 || h > 4) {
                                return null;
                            }
                            for (int o = 0; o < c; o++) {
                                if (ids[o] == ids[c]) {
                                    return null;
                                }
                            }
                            if (c == 0) {
                                f.lumaSampling = h;
                            } else if (h != 1) {
                                return null;
                            }
                        }
                        if (f.components == 1) {
                            f.lumaSampling = 1; // a single-component scan has one block per MCU whatever is declared
                        } else if (f.lumaSampling > 2) {
                            return null;
                        }
                        break;
                    case 0xDD: // DRI
                        if (length != 4) {
                            return null;
                        }
                        f.restartInterval = u16(b, body);
                        break;
                    case 0xDA: { // SOS
                        if (ids == null || length < 6) {
                            return null;
                        }
                        int n = b[body] & 0xFF;
                        if (n != f.components || length != 6 + 2 * n) {
                            return null;
                        }
                        for (int c = 0; c < n; c++) {
                            int id = b[body + 1 + 2 * c] & 0xFF;
                            int td = (b[body + 2 + 2 * c] & 0xFF) >> 4;
                            int ta = b[body + 2 + 2 * c] & 0x0F;
                            if (id != ids[c] || td > 3 || ta > 3 || quantTables[quantIndex[c]] == null) {
                                return null;
                            }
                            f.quant[c] = quantTables[quantIndex[c]];
                            f.dc[c] = Huffman.of(dcCounts[td], dcSymbols[td], true);
                            f.ac[c] = Huffman.of(acCounts[ta], acSymbols[ta], false);
                            if (f.dc[c] == null || f.ac[c] == null) {
                                return null;
                            }
                        }
                        int ss = b[body + 1 + 2 * n] & 0xFF;
                        int se = b[body + 2 + 2 * n] & 0xFF;
                        int ahal = b[body + 3 + 2 * n] & 0xFF;
                        if (ss != 0 || se != 63 || ahal != 0) {
                            return null;
                        }
                        f.dataStart = end;
                        return f;
                    }
                    case 0xE0: // APP0: JFIF 1.x only (libjpeg warns about other major versions)
                        if (length >= 7 && b[body] == 'J' && b[body + 1] == 'F' && b[body + 2] == 'I'
                                && b[body + 3] == 'F' && b[body + 4] == 0 && (length < 8 || b[body + 5] != 1)) {
                            return null;
                        }
                        break;
                    case 0xEE: // APP14 Adobe: colour transform markers are left to libjpeg
                        return null;
                    default:
                        if ((marker >= 0xE1 && marker <= 0xEF) || marker == 0xFE) {
                            break; // other APPn, COM
                        }
                        return null; // SOI again, other frame types, DAC, DNL, EOI before a scan, ...
                }
                pos = end;
            }
        }
    }

    /**
     * One Huffman table: a look-up of the first {@value #LOOKUP_BITS} bits, and libjpeg's canonical-code limits for
     * longer codes. Look-up entries are 0 for "longer than {@value #LOOKUP_BITS} bits or invalid".
     */
    private static final class Huffman {
        /** Code length in bits 0-7, symbol in bits 8-15. */
        final int[] lookup = new int[1 << LOOKUP_BITS];
        /**
         * For AC tables: what skipping the coefficient costs: code plus value bits in bits 0-7, how far the
         * coefficient index moves in bits 8-15 (0: end of block).
         */
        final int[] skip;
        /**
         * For AC tables: the coefficients whose codes and values all lie in the next {@value #GROUP_BITS} bits,
         * skipped together: bits used in bits 0-7, the index's advance in bits 8-14 (end of block excluded),
         * {@link #GROUP_END_OF_BLOCK} when they end with the end of block; advance {@link #NO_GROUP} when the first
         * does not fit.
         */
        final char[] skipGroup;
        final int[] maxCode = new int[18];
        final int[] valOffset = new int[18];
        final int[] symbols;

        private Huffman(int[] symbols, boolean dc) {
            this.symbols = symbols;
            this.skip = dc ? null : new int[1 << LOOKUP_BITS];
            this.skipGroup = dc ? null : new char[1 << GROUP_BITS];
        }

        /** The symbol whose code starts at bit {@code at} (from the top) of a {@value #GROUP_BITS}-bit window. */
        private int symbolLength(int window, int at) {
            for (int l = 1; at + l <= GROUP_BITS; l++) {
                int code = (window >>> (GROUP_BITS - at - l)) & ((1 << l) - 1);
                if (code <= maxCode[l]) {
                    return l;
                }
            }
            return 0;
        }

        private void buildSkipGroups() {
            for (int window = 0; window < 1 << GROUP_BITS; window++) {
                int used = 0;
                int advance = 0;
                int entry = 0;
                while (true) {
                    int l = symbolLength(window, used);
                    if (l == 0) {
                        break;
                    }
                    int code = (window >>> (GROUP_BITS - used - l)) & ((1 << l) - 1);
                    int sym = symbols[code + valOffset[l]];
                    int s = sym & 15;
                    int r = sym >> 4;
                    if (used + l + s > GROUP_BITS) {
                        break;
                    }
                    used += l + s;
                    if (s == 0 && r != 15) {
                        entry = used | advance << 8 | GROUP_END_OF_BLOCK;
                        break;
                    }
                    advance += s != 0 ? r + 1 : 16;
                    entry = used | advance << 8;
                    if (advance >= 64) {
                        break;
                    }
                }
                // Nothing fits: an advance no index passes sends the look-up to the one-code path.
                skipGroup[window] = (char) (entry != 0 ? entry : NO_GROUP << 8);
            }
        }

        /** Tables built lately, by definition: most files of an archive share their encoder's few tables. */
        private static final Map<TableKey, Huffman> CACHE = new ConcurrentHashMap<>();
        private static final int CACHE_ENTRIES = 64;

        /** A table definition: class (DC or AC), code counts and symbols. */
        private record TableKey(int[] definition) {
            @Override
            public boolean equals(Object o) {
                return o instanceof TableKey k && Arrays.equals(definition, k.definition);
            }

            @Override
            public int hashCode() {
                return Arrays.hashCode(definition);
            }
        }

        /** The table of a definition, from the cache when it was built lately; null for a missing or invalid one. */
        static Huffman of(int[] counts, int[] symbols, boolean dc) {
            if (counts == null) {
                return null;
            }
            int[] definition = new int[1 + counts.length + symbols.length];
            definition[0] = dc ? 1 : 0;
            System.arraycopy(counts, 0, definition, 1, counts.length);
            System.arraycopy(symbols, 0, definition, 1 + counts.length, symbols.length);
            TableKey key = new TableKey(definition);
            Huffman cached = CACHE.get(key);
            if (cached != null) {
                return cached;
            }
            Huffman built = build(counts, symbols, dc);
            if (built != null) {
                if (CACHE.size() >= CACHE_ENTRIES) {
                    CACHE.clear();
                }
                CACHE.put(key, built);
            }
            return built;
        }

        /** libjpeg's jpeg_make_d_derived_tbl; null where it would fail (a missing or invalid table). */
        private static Huffman build(int[] counts, int[] symbols, boolean dc) {
            Huffman t = new Huffman(symbols, dc);
            int code = 0;
            int p = 0;
            for (int l = 1; l <= 16; l++) {
                if (counts[l] == 0) {
                    t.maxCode[l] = -1;
                } else {
                    t.valOffset[l] = p - code;
                    for (int i = 0; i < counts[l]; i++, p++, code++) {
                        int sym = symbols[p];
                        if (dc && sym > 15) {
                            return null;
                        }
                        if (l <= LOOKUP_BITS) {
                            int shift = LOOKUP_BITS - l;
                            int entry = l | sym << 8;
                            int s = sym & 15;
                            int r = sym >> 4;
                            int advance = s != 0 ? r + 1 : r == 15 ? 16 : 0;
                            for (int j = code << shift, e = (code + 1) << shift; j < e; j++) {
                                t.lookup[j] = entry;
                                if (!dc) {
                                    t.skip[j] = (l + s) | advance << 8;
                                }
                            }
                        }
                    }
                    t.maxCode[l] = code - 1;
                }
                if (counts[l] != 0 && code >= 1 << l) {
                    return null; // the all-ones code, or more codes than fit: libjpeg's JERR_BAD_HUFF_TABLE
                }
                code <<= 1;
            }
            t.maxCode[17] = Integer.MAX_VALUE;
            if (!dc) {
                t.buildSkipGroups();
            }
            return t;
        }
    }

    /** Entropy decoding of the one scan, the inverse DCTs at 1/8, and the colour conversion. */
    private static final class Scan {
        private final byte[] b;
        private final Frame f;
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

        Scan(byte[] b, Frame f) {
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
        private int slowSymbol(Huffman t) {
            for (int l = LOOKUP_BITS + 1; l <= 16; l++) {
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

        private int dcDiff(Huffman t) {
            if (bits < 32) {
                fill();
            }
            int e = t.lookup[(int) (acc >>> (64 - LOOKUP_BITS))];
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
         * Skips a block's AC coefficients: several at a time through {@link Huffman#skipGroup} while the group keeps
         * the index under 64 (libjpeg stops a block there even without an end-of-block code), one at a time otherwise.
         */
        private void skipAc(Huffman t) {
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
                int e = groups[(int) (acc >>> (64 - GROUP_BITS))];
                int advance = (e >>> 8) & 0x7F;
                if (k + advance < 64) {
                    acc <<= e & 0xFF;
                    bits -= e & 0xFF;
                    if ((e & GROUP_END_OF_BLOCK) != 0) {
                        break;
                    }
                    k += advance;
                    continue;
                }
                e = single[(int) (acc >>> (64 - LOOKUP_BITS))];
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
        private void decodeAc(Huffman t, int[] block) {
            int[] lookup = t.lookup;
            for (int k = 1; k < 64; k++) {
                if (bits < 32) {
                    fill();
                }
                int e = lookup[(int) (acc >>> (64 - LOOKUP_BITS))];
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
                    block[NATURAL[k]] = (short) receiveExtend(s);
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
            Huffman lumaDc = f.dc[0];
            Huffman lumaAc = f.ac[0];
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
                            luma[(my * m + by) * stride + mx * m + bx] = idct1x1((short) last[0], lumaQ);
                        }
                    }
                    if (colour) {
                        for (int c = 1; c < 3; c++) {
                            last[c] += dcDiff(f.dc[c]);
                            byte[] plane = c == 1 ? cb : cr;
                            int at = my * m * stride + mx * m;
                            if (m == 1) {
                                skipAc(f.ac[c]);
                                plane[at] = idct1x1((short) last[c], f.quant[c][0]);
                            } else {
                                Arrays.fill(block, 0);
                                block[0] = (short) last[c];
                                decodeAc(f.ac[c], block);
                                idct2x2(block, f.quant[c], workspace, plane, at, stride);
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
    }

    /** libjpeg's {@code IDCT_range_limit} table applied to {@code x & 1023}: x + 128 clamped to 0..255. */
    private static byte rangeLimit(int x) {
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
    private static byte idct1x1(short dc, int quant) {
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
    private static void idct2x2(int[] coef, int[] quant, int[] ws, byte[] out, int at, int stride) {
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

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }
}
