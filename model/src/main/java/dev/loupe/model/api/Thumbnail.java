package dev.loupe.model.api;

/**
 * A small 8-bit RGB copy of an image, made from the decode that produced its model tensor, for showing the image
 * next to its annotation (a contact sheet) without reading and decoding it again.
 *
 * @param rgb interleaved RGB, {@code 3 * width * height} bytes, rows top to bottom
 */
public record Thumbnail(int width, int height, byte[] rgb) {
    public Thumbnail {
        if (width <= 0 || height <= 0 || rgb == null || rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("a " + width + "x" + height + " thumbnail needs " + 3L * width * height
                    + " RGB bytes, got " + (rgb == null ? "none" : rgb.length));
        }
    }
}
