package dev.loupe.model.image;

import dev.loupe.model.api.Thumbnail;

/** Thumbnails from rows already decoded for the model tensor: one more resize, no second decode. */
final class Thumbnails {
    private static final PillowResampler RESAMPLER = new PillowResampler(PillowResampler.Filter.BILINEAR);

    private Thumbnails() {}

    /** {@code rows} fitted into {@code maxSide} pixels, aspect kept, never enlarged. */
    static Thumbnail of(RgbRows rows, int maxSide) {
        if (maxSide < 1) {
            throw new IllegalArgumentException("thumbnail size must be positive, got " + maxSide);
        }
        double f = Math.min(1.0, (double) maxSide / Math.max(rows.width, rows.height));
        int w = Math.max(1, (int) Math.round(rows.width * f));
        int h = Math.max(1, (int) Math.round(rows.height * f));
        RgbImage small = RESAMPLER.resize(rows, w, h);
        return new Thumbnail(small.width(), small.height(), small.rgb());
    }
}
