package dev.loupe.model.image;

import java.util.Objects;

/**
 * An 8-bit RGB raster, interleaved row-major (R, G, B per pixel, rows top to bottom): the common currency
 * between decoding and resizing, the same layout as a Pillow "RGB" image converted to a numpy array.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    public RgbImage(int width, int height, byte[] rgb) {
        Objects.requireNonNull(rgb, "rgb");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("expected " + 3L * width * height + " bytes, got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The interleaved samples; callers must not modify the array. */
    public byte[] rgb() {
        return rgb;
    }

    /** Sample {@code channel} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int sample(int x, int y, int channel) {
        return rgb[(y * width + x) * 3 + channel] & 0xFF;
    }
}
