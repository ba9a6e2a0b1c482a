package dev.loupe.model.api;

import java.io.Serializable;
import java.util.Objects;

/**
 * A preprocessed image: normalised float pixels in (channels, height, width) order, ready to be stacked
 * into the vision encoder's {@code pixel_values} batch.
 */
public final class ImageTensor implements Serializable {
    private static final long serialVersionUID = 1L;

    private final float[] chw;
    private final int channels;
    private final int height;
    private final int width;

    public ImageTensor(float[] chw, int channels, int height, int width) {
        Objects.requireNonNull(chw, "chw");
        if (chw.length != channels * height * width) {
            throw new IllegalArgumentException("expected " + channels * height * width + " values, got " + chw.length);
        }
        this.chw = chw;
        this.channels = channels;
        this.height = height;
        this.width = width;
    }

    /** The pixel values; callers must not modify the array. */
    public float[] chw() {
        return chw;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }
}
