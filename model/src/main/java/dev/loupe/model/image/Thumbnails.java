package dev.loupe.model.image;

import dev.loupe.model.api.Thumbnail;

/**
 * Thumbnails from rows already decoded for the model tensor: one more resize, no second decode. Where the model's
 * input is itself a downscale of the whole image to at least the thumbnail's size in both directions (BLIP's
 * 224x224 for a photo and a 192-pixel thumbnail), the thumbnail is made from that small image rather than from the
 * full decode: a third of the work on a 640x480 photo, and the model's resize is an antialiased (Pillow) one, so the
 * thumbnail keeps the detail its size can show (it differs from a direct resize by a level or two per sample).
 */
final class Thumbnails {
    private static final PillowResampler RESAMPLER = new PillowResampler(PillowResampler.Filter.BILINEAR);

    private Thumbnails() {}

    /** {@code rows} fitted into {@code maxSide} pixels, aspect kept, never enlarged. */
    static Thumbnail of(RgbRows rows, int maxSide) {
        return of(rows, null, maxSide);
    }

    /**
     * As {@link #of(RgbRows, int)}, made from {@code modelInput} (the whole of {@code rows} resized for the model,
     * aspect not kept; null when there is none) when that is a downscale holding at least the thumbnail's pixels in
     * both directions.
     */
    static Thumbnail of(RgbRows rows, RgbImage modelInput, int maxSide) {
        if (maxSide < 1) {
            throw new IllegalArgumentException("thumbnail size must be positive, got " + maxSide);
        }
        double f = Math.min(1.0, (double) maxSide / Math.max(rows.width, rows.height));
        int w = Math.max(1, (int) Math.round(rows.width * f));
        int h = Math.max(1, (int) Math.round(rows.height * f));
        boolean fromModelInput = modelInput != null && modelInput.width() <= rows.width
                && modelInput.height() <= rows.height && w <= modelInput.width() && h <= modelInput.height();
        RgbImage small = fromModelInput ? RESAMPLER.resize(modelInput, w, h) : RESAMPLER.resize(rows, w, h);
        return new Thumbnail(small.width(), small.height(), small.rgb());
    }
}
