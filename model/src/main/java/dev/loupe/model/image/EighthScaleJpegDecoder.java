package dev.loupe.model.image;

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

    private EighthScaleJpegDecoder() {
    }

    /**
     * The image at 1/8 scale ({@code ceil(width / 8) x ceil(height / 8)}), or null when this decoder does not take
     * the file (see the class comment); never throws on bad input.
     */
    static RgbRows decode(byte[] jpeg) {
        try {
            JpegFrame frame = JpegFrame.parse(jpeg);
            return frame == null ? null : new EighthScaleScan(jpeg, frame).decode();
        } catch (RuntimeException e) { // index arithmetic on a damaged file: let libjpeg-turbo judge it
            return null;
        }
    }

    /** The header's size, when {@link #decode} would take the file; null otherwise. */
    static int[] size(byte[] jpeg) {
        try {
            JpegFrame frame = JpegFrame.parse(jpeg);
            return frame == null ? null : new int[]{frame.width, frame.height};
        } catch (RuntimeException e) {
            return null;
        }
    }
}
