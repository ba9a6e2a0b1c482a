package dev.loupe.model.api;

import java.io.Serializable;

/**
 * How untrusted images are decoded: the largest encoded size and the largest decoded pixel count (checked from the
 * header before decoding, against decompression bombs), and whether JPEGs may be decoded at a reduced scale when the
 * model's input stays at least that large (faster on camera photos, but not Pillow's pixels: off by default and
 * wherever parity is promised).
 */
public record ImageLimits(long maxEncodedBytes, long maxPixels, boolean fastJpegDownscale) implements Serializable {
    public static final ImageLimits DEFAULT = new ImageLimits(50L * 1024 * 1024, 40_000_000L);

    public ImageLimits {
        if (maxEncodedBytes < 1 || maxPixels < 1) {
            throw new IllegalArgumentException("image limits must be positive, got " + maxEncodedBytes + " bytes, "
                    + maxPixels + " pixels");
        }
    }

    /** Exact decoding with these guards. */
    public ImageLimits(long maxEncodedBytes, long maxPixels) {
        this(maxEncodedBytes, maxPixels, false);
    }

    /** These guards, with reduced-scale JPEG decoding on or off. */
    public ImageLimits withFastJpegDownscale(boolean on) {
        return new ImageLimits(maxEncodedBytes, maxPixels, on);
    }
}
