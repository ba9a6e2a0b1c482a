package dev.loupe.model.image;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One Huffman table: a look-up of the first {@value #LOOKUP_BITS} bits, and libjpeg's canonical-code limits for
 * longer codes. Look-up entries are 0 for "longer than {@value #LOOKUP_BITS} bits or invalid".
 */
final class JpegHuffmanTable {
    /** Bits of the code prefix that the look-up tables resolve in one step; longer codes are decoded bit by bit. */
    static final int LOOKUP_BITS = 10;
    /** Bits of the window in which {@link JpegHuffmanTable#skipGroup} skips several AC coefficients at once. */
    static final int GROUP_BITS = 14;
    static final int GROUP_END_OF_BLOCK = 1 << 15;
    static final int NO_GROUP = 127;

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

    private JpegHuffmanTable(int[] symbols, boolean dc) {
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
    private static final Map<TableKey, JpegHuffmanTable> CACHE = new ConcurrentHashMap<>();
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
    static JpegHuffmanTable of(int[] counts, int[] symbols, boolean dc) {
        if (counts == null) {
            return null;
        }
        int[] definition = new int[1 + counts.length + symbols.length];
        definition[0] = dc ? 1 : 0;
        System.arraycopy(counts, 0, definition, 1, counts.length);
        System.arraycopy(symbols, 0, definition, 1 + counts.length, symbols.length);
        TableKey key = new TableKey(definition);
        JpegHuffmanTable cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        JpegHuffmanTable built = build(counts, symbols, dc);
        if (built != null) {
            if (CACHE.size() >= CACHE_ENTRIES) {
                CACHE.clear();
            }
            CACHE.put(key, built);
        }
        return built;
    }

    /** libjpeg's jpeg_make_d_derived_tbl; null where it would fail (a missing or invalid table). */
    private static JpegHuffmanTable build(int[] counts, int[] symbols, boolean dc) {
        JpegHuffmanTable t = new JpegHuffmanTable(symbols, dc);
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
