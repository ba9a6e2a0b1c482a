package dev.loupe.model.image;

import java.util.Arrays;

/**
 * A baseline JPEG's marker segments up to its scan, as {@link EighthScaleJpegDecoder} reads them: tables, frame and
 * scan header.
 */
final class JpegFrame {
    /** Zig-zag index to natural (row-major) index, with libjpeg's 16 extra entries for corrupt runs past 63. */
    static final int[] NATURAL = new int[64 + 16];

    static {
        int[] zigzag = {0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
                20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45,
                38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};
        System.arraycopy(zigzag, 0, NATURAL, 0, 64);
        for (int i = 64; i < NATURAL.length; i++) {
            NATURAL[i] = 63;
        }
    }

    private JpegFrame() {
    }

    int width;
    int height;
    int components;
    /** 1 (grey, 4:4:4) or 2 (4:2:0): luma's sampling factor, both directions. */
    int lumaSampling;
    final int[][] quant = new int[3][];
    final JpegHuffmanTable[] dc = new JpegHuffmanTable[3];
    final JpegHuffmanTable[] ac = new JpegHuffmanTable[3];
    int restartInterval;
    /** Offset of the first byte of entropy-coded data. */
    int dataStart;

    static JpegFrame parse(byte[] b) {
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
        JpegFrame f = new JpegFrame();
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
                        f.dc[c] = JpegHuffmanTable.of(dcCounts[td], dcSymbols[td], true);
                        f.ac[c] = JpegHuffmanTable.of(acCounts[ta], acSymbols[ta], false);
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

    static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }
}
