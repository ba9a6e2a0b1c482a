package dev.loupe.jobs.testing;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.ImageTensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Test-only preprocessor: decodes with ImageIO, checks the pixel limit from the header before decoding, and
 * returns a small fixed-size tensor (the jobs tests need real decode errors, not real model inputs).
 */
public final class ImageIoPreprocessor implements ImagePreprocessor {

    private final long maxPixels;
    private final int side;

    public ImageIoPreprocessor(long maxPixels, int side) {
        this.maxPixels = maxPixels;
        this.side = side;
    }

    @Override
    public ImageTensor preprocess(byte[] encoded) throws AnnotationException {
        if (encoded == null || encoded.length == 0) {
            throw new AnnotationException(ErrorCode.IMAGE_EMPTY, "the image has zero bytes");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new AnnotationException(ErrorCode.IMAGE_UNSUPPORTED_FORMAT, "not an image in a supported format");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > maxPixels) {
                    throw new AnnotationException(ErrorCode.IMAGE_TOO_MANY_PIXELS,
                            pixels + " pixels, more than the limit " + maxPixels);
                }
                BufferedImage image = reader.read(0);
                int w = image.getWidth();
                int h = image.getHeight();
                float[] chw = new float[3 * side * side];
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        int rgb = image.getRGB(x * w / side, y * h / side);
                        chw[y * side + x] = ((rgb >> 16) & 0xff) / 255f;
                        chw[side * side + y * side + x] = ((rgb >> 8) & 0xff) / 255f;
                        chw[2 * side * side + y * side + x] = (rgb & 0xff) / 255f;
                    }
                }
                return new ImageTensor(chw, 3, side, side);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new AnnotationException(ErrorCode.IMAGE_CORRUPT, "corrupt or truncated image: " + e.getMessage(), e);
        }
    }
}
