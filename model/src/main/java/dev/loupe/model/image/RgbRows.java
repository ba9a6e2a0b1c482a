package dev.loupe.model.image;

import dev.loupe.model.api.AnnotationException;

/**
 * A decoded image read row by row as 8-bit interleaved RGB, converting from the decoder's raster on the fly, so
 * that a resize can consume a large image without the full-size RGB copy ever being written (on a 12-megapixel
 * photo that copy costs more than the colour conversion itself). {@link #toImage()} gives the same samples as
 * one {@link RgbImage}.
 */
abstract class RgbRows {
    /** Code given rows that may be valid only until it returns (a decoder's reused buffer). */
    interface Use<T> {
        /** Must not return null, nor keep {@code rows} (or anything still reading them) after returning. */
        T apply(RgbRows rows) throws AnnotationException;
    }

    final int width;
    final int height;

    RgbRows(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        this.width = width;
        this.height = height;
    }

    /** Writes row {@code y} as {@code 3 * width} bytes at {@code dst[offset]}. */
    abstract void row(int y, byte[] dst, int offset);

    /**
     * Writes row {@code y} as three planes of {@code width} samples 0..255 (what the horizontal resampling pass
     * reads: one contiguous dot product per channel is faster than three interleaved sums); {@code scratch} holds
     * at least {@code 3 * width} bytes.
     */
    void planes(int y, int[] r, int[] g, int[] b, byte[] scratch) {
        byte[] src = array();
        int o = 3 * width * y;
        if (src == null) {
            row(y, scratch, 0);
            src = scratch;
            o = 0;
        }
        for (int x = 0; x < width; x++, o += 3) {
            r[x] = src[o] & 0xFF;
            g[x] = src[o + 1] & 0xFF;
            b[x] = src[o + 2] & 0xFF;
        }
    }

    /**
     * The whole image, interleaved (row {@code y} at {@code 3 * width * y}; the array may be longer), or null when
     * the rows are converted on demand. Valid as long as the rows are.
     */
    byte[] array() {
        return null;
    }

    /** Rows that stay valid after the call that decoded them returned: these, unless they live in a reused buffer. */
    RgbRows onHeap() {
        return this;
    }

    RgbImage toImage() {
        byte[] out = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            row(y, out, 3 * width * y);
        }
        return new RgbImage(width, height, out);
    }

    static RgbRows of(RgbImage image) {
        return new RgbRows(image.width(), image.height()) {
            @Override
            void row(int y, byte[] dst, int offset) {
                System.arraycopy(image.rgb(), 3 * width * y, dst, offset, 3 * width);
            }

            @Override
            byte[] array() {
                return image.rgb();
            }

            @Override
            RgbImage toImage() {
                return image;
            }
        };
    }

    /** A grey image, one byte per pixel, read as RGB with the grey sample in all three channels. */
    static RgbRows grey(int width, int height, byte[] grey) {
        if (grey.length != (long) width * height) {
            throw new IllegalArgumentException("expected " + (long) width * height + " bytes, got " + grey.length);
        }
        return new RgbRows(width, height) {
            @Override
            void row(int y, byte[] dst, int offset) {
                for (int p = y * width, end = p + width; p < end; p++, offset += 3) {
                    byte v = grey[p];
                    dst[offset] = v;
                    dst[offset + 1] = v;
                    dst[offset + 2] = v;
                }
            }

            @Override
            void planes(int y, int[] r, int[] g, int[] b, byte[] scratch) {
                for (int x = 0, p = y * width; x < width; x++, p++) {
                    int v = grey[p] & 0xFF;
                    r[x] = v;
                    g[x] = v;
                    b[x] = v;
                }
            }
        };
    }
}
