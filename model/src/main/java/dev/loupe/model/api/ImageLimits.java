package dev.loupe.model.api;

import java.io.Serializable;

/**
 * Guards applied when decoding untrusted images: the largest encoded size and the largest decoded pixel count
 * (checked from the header before decoding, against decompression bombs).
 */
public record ImageLimits(long maxEncodedBytes, long maxPixels) implements Serializable {
    public static final ImageLimits DEFAULT = new ImageLimits(50L * 1024 * 1024, 40_000_000L);

    public ImageLimits {
        if (maxEncodedBytes < 1 || maxPixels < 1) {
            throw new IllegalArgumentException("image limits must be positive, got " + maxEncodedBytes + " bytes, "
                    + maxPixels + " pixels");
        }
    }
}
