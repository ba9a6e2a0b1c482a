package dev.loupe.model.image;

/**
 * What the marker segments of a JPEG say about its colour and completeness, decided the way libjpeg
 * (which Pillow uses) decides: the number of components, the JFIF and Adobe APP14 markers and the
 * component ids give the stored colour space. Also detects truncated files, which ImageIO decodes without
 * complaint (the missing part comes back grey) while Pillow refuses them.
 */
final class JpegStructure {
    private static final int SOI = 0xD8;
    private static final int EOI = 0xD9;
    private static final int SOS = 0xDA;

    /** The colour space of the stored samples. */
    enum Stored { GREY, YCBCR, RGB, CMYK, YCCK, OTHER }

    final int components;
    final Stored stored;
    /** True when an end-of-image marker follows the first scan. */
    final boolean complete;
    /** The start-of-frame marker (0xC0 baseline, 0xC2 progressive, 0xC3 lossless, ...), 0 when none was found. */
    final int frameMarker;
    /** Bits per sample from the frame header (8 or 12 for DCT JPEGs), 0 when none was found. */
    final int precision;

    private JpegStructure(int components, Stored stored, boolean complete, int frameMarker, int precision) {
        this.components = components;
        this.stored = stored;
        this.complete = complete;
        this.frameMarker = frameMarker;
        this.precision = precision;
    }

    /**
     * An 8-bit DCT JPEG with Huffman or arithmetic coding (baseline, extended or progressive) in grey, YCbCr or RGB:
     * what libjpeg-turbo's TurboJPEG decodes as Pillow does. Lossless, hierarchical, 12-bit and four-channel files
     * are left to ImageIO and TwelveMonkeys.
     */
    boolean turboDecodable() {
        boolean dct = frameMarker == 0xC0 || frameMarker == 0xC1 || frameMarker == 0xC2 || frameMarker == 0xC9
                || frameMarker == 0xCA;
        return dct && precision == 8 && (stored == Stored.GREY || stored == Stored.YCBCR || stored == Stored.RGB);
    }

    static JpegStructure parse(byte[] b) {
        int components = 0;
        int frameMarker = 0;
        int precision = 0;
        int[] ids = new int[0];
        boolean jfif = false;
        int adobeTransform = -1;
        int scan = -1;
        if (b.length >= 4 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == SOI) {
            int pos = 2;
            while (pos + 1 < b.length) {
                if ((b[pos] & 0xFF) != 0xFF) {
                    break;
                }
                int marker = b[pos + 1] & 0xFF;
                if (marker == 0xFF) { // fill byte
                    pos++;
                    continue;
                }
                if (marker == SOS) {
                    scan = pos;
                    break;
                }
                if (marker == SOI || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                    pos += 2; // markers without a length field
                    continue;
                }
                if (pos + 3 >= b.length) {
                    break;
                }
                int length = u16(b, pos + 2);
                if (length < 2 || pos + 2 + length > b.length) {
                    break;
                }
                int body = pos + 4;
                boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
                if (sof && length >= 8) {
                    frameMarker = marker;
                    precision = b[body] & 0xFF;
                    components = b[body + 5] & 0xFF;
                    ids = new int[components];
                    for (int i = 0; i < components && body + 6 + 3 * i < b.length; i++) {
                        ids[i] = b[body + 6 + 3 * i] & 0xFF;
                    }
                } else if (marker == 0xE0 && length >= 7 && startsWith(b, body, "JFIF\0")) {
                    jfif = true;
                } else if (marker == 0xEE && length >= 14 && startsWith(b, body, "Adobe")) {
                    adobeTransform = b[body + 11] & 0xFF;
                }
                pos += 2 + length;
            }
        }
        boolean complete = false;
        if (scan >= 0) {
            for (int i = b.length - 2; i > scan; i--) {
                if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == EOI) {
                    complete = true;
                    break;
                }
            }
        }
        return new JpegStructure(components, stored(components, ids, jfif, adobeTransform), complete, frameMarker,
                precision);
    }

    /** libjpeg's default_decompress_parms rules. */
    private static Stored stored(int components, int[] ids, boolean jfif, int adobeTransform) {
        switch (components) {
            case 1:
                return Stored.GREY;
            case 3:
                if (jfif) {
                    return Stored.YCBCR;
                }
                if (adobeTransform >= 0) {
                    return adobeTransform == 0 ? Stored.RGB : Stored.YCBCR;
                }
                if (ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B') {
                    return Stored.RGB;
                }
                return Stored.YCBCR;
            case 4:
                return adobeTransform == 2 ? Stored.YCCK : Stored.CMYK;
            default:
                return Stored.OTHER;
        }
    }

    private static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }

    private static boolean startsWith(byte[] b, int at, String ascii) {
        if (at + ascii.length() > b.length) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if ((b[at + i] & 0xFF) != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
